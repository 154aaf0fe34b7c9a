package main

import (
	"cmp"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// reportField is one column of a dmsetup report (libdm's report fields):
// its id for -o, -O and -S, its heading, its minimum width when aligned,
// and its kind. get returns the value for one object, or an error that
// drops the object's row and fails the command once the other rows are out.
type reportField struct {
	id, heading string
	width       int
	kind        fieldKind
	desc        string
	get         func(o *reportObj) (string, error)
}

// fieldKind is libdm's field type: text is left-aligned and compared
// bytewise; numbers and sizes are right-aligned and sorted and compared by
// value.
type fieldKind int

const (
	textField fieldKind = iota
	numberField
	sizeField
)

// String is the type -S's field help shows.
func (k fieldKind) String() string {
	return [...]string{"string", "number", "size"}[k]
}

// reportSection is a group of fields of one object type; PREFIX_all
// selects the whole group. `-o help` lists consecutive sections with the
// same title as one.
type reportSection struct {
	title, prefix string
	fields        []*reportField
}

// fieldReport is one report's layout, decided from the command's options as
// dmsetup's _report_init does.
type fieldReport struct {
	sections []reportSection
	fields   []*reportField
	keys     []sortKey
	sel      selection

	aligned, headings, prefixes, quoted, asRows bool
	sep                                         string
	// widths are the columns' widths so far: as libdm's, a report output
	// again (stats report --count) keeps them.
	widths []int
}

// sortKey is one -O/--sort key.
type sortKey struct {
	f    *reportField
	desc bool
}

// reportRow is one object's values, in the report's field order, and its
// sort keys' values.
type reportRow struct {
	cells, keys []string
}

// newReport reads -o/--options (defaults when absent, "+LIST" adds to
// them), -O/--sort, -S/--select, --noheadings, --separator, --rows,
// --nameprefixes and --unquoted. With "help" in -o it prints every field
// and gives a report of no fields, which prints nothing (the command runs).
func newReport(e *env, sections []reportSection, defaults string) (*fieldReport, error) {
	r := &fieldReport{sections: sections, aligned: true, headings: true, quoted: true, sep: " "}
	if e.opts.has("noheadings") {
		r.sep, r.aligned, r.headings = ":", false, false
	}
	r.asRows = e.opts.has("rows")
	r.quoted = !e.opts.has("unquoted")
	if e.opts.has("nameprefixes") {
		r.aligned, r.prefixes = false, true
	}
	spec := defaults
	if e.opts.has("options") {
		o := e.opts.str("options")
		if strings.Contains(o, "help") {
			printFieldHelp(e.stderr, false)
			return r, nil
		}
		if rest, ok := strings.CutPrefix(o, "+"); ok {
			spec = defaults + "," + rest
		} else {
			spec = o
		}
	}
	if e.opts.has("separator") {
		r.sep, r.aligned = e.opts.str("separator"), false
	}
	if r.asRows {
		r.aligned = false
	}
	for _, name := range strings.Split(spec, ",") {
		fs, ok := r.lookup(name)
		if !ok {
			printFieldHelp(e.stderr, false)
			return nil, setupError("Unrecognised field: " + name)
		}
		r.fields = append(r.fields, fs...)
	}
	if e.opts.has("sort") {
		for _, name := range strings.Split(e.opts.str("sort"), ",") {
			desc := false
			switch {
			case strings.HasPrefix(name, "-"):
				name, desc = name[1:], true
			case strings.HasPrefix(name, "+"):
				name = name[1:]
			}
			fs, ok := r.lookup(name)
			if !ok || len(fs) != 1 {
				printFieldHelp(e.stderr, false)
				return nil, setupError("dm_report: Unrecognised field: " + name)
			}
			r.keys = append(r.keys, sortKey{fs[0], desc})
		}
	}
	if e.opts.has("select") {
		sel, err := parseSelection(r, e.opts.str("select"), e.stderr)
		if err != nil {
			return nil, err
		}
		r.sel = sel
	}
	return r, nil
}

// lookup finds a field by id as libdm matches it (case and underscores
// ignored), or a section by PREFIX_all.
func (r *fieldReport) lookup(name string) ([]*reportField, bool) {
	c := canonicalFieldID(name)
	if c == "" {
		return nil, false
	}
	var all []*reportField
	for _, s := range r.sections {
		if c == "all" || c == canonicalFieldID(s.prefix+"all") {
			all = append(all, s.fields...)
		}
	}
	if all != nil {
		return all, true
	}
	for _, s := range r.sections {
		for _, f := range s.fields {
			if canonicalFieldID(f.id) == c {
				return []*reportField{f}, true
			}
		}
	}
	return nil, false
}

// uses reports whether the report shows or sorts by a field of s.
func (r *fieldReport) uses(s reportSection) bool {
	for _, f := range s.fields {
		for _, g := range r.fields {
			if f == g {
				return true
			}
		}
		for _, k := range r.keys {
			if f == k.f {
				return true
			}
		}
	}
	return false
}

func canonicalFieldID(s string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "_", ""))
}

// specialFields are libdm's reserved fields, listed last by the field
// help, with the type -S's help shows.
var specialFields = []struct{ id, desc, kind string }{
	{"selected", "Set if item passes selection criteria.", "number"},
	{"help", "Show help.", "unselectable number"},
	{"?", "Show help.", "unselectable number"},
}

// printFieldHelp lists every field by section as libdm does for any of
// dmsetup's reports (one field table serves them all): consecutive
// sections with the same title as one, then the special fields. -o help
// shows each section's PREFIX_all; a selection naming an unknown field
// shows each field's type instead (withTypes).
func printFieldHelp(w io.Writer, withTypes bool) {
	sections := append(append([]reportSection{}, deviceReportSections...), statsReportSections...)
	width := 0
	for _, s := range sections {
		width = max(width, len(s.prefix)+len("all"))
		for _, f := range s.fields {
			width = max(width, len(f.id))
		}
	}
	heading := func(title string) {
		fmt.Fprintf(w, "%s Fields\n%s\n", title, strings.Repeat("-", len(title)+len(" Fields")))
	}
	item := func(id, desc, kind string) {
		if withTypes {
			desc += " [" + kind + "]"
		}
		fmt.Fprintf(w, "  %-*s - %s\n", width, id, desc)
	}
	for i, s := range sections {
		if i == 0 || sections[i-1].title != s.title {
			heading(s.title)
			if !withTypes {
				item(s.prefix+"all", "All fields in this section.", "")
			}
		}
		for _, f := range s.fields {
			item(f.id, f.desc, f.kind.String())
		}
		if i == len(sections)-1 || sections[i+1].title != s.title {
			fmt.Fprintln(w, " ")
		}
	}
	heading("Special")
	for _, f := range specialFields {
		item(f.id, f.desc, f.kind)
	}
	fmt.Fprintln(w, " ")
}

// output prints the report of objs: selected rows, sorted by the keys
// (stable: objs' order otherwise). Nothing is printed when no row is left.
// A field that cannot be read drops its row; the last such error is
// returned (the others printed) after the other rows are printed.
func (r *fieldReport) output(w, stderr io.Writer, objs []*reportObj) error {
	if len(r.fields) == 0 {
		return nil
	}
	var rows []reportRow
	var failed error
	for _, o := range objs {
		row, err := r.row(o)
		if err != nil {
			if failed != nil {
				fmt.Fprintln(stderr, failed)
			}
			failed = usageError(err.Error())
			continue
		}
		if r.sel != nil && !r.sel.match(o) {
			continue
		}
		rows = append(rows, row)
	}
	r.sortRows(rows)
	if len(rows) > 0 {
		if r.asRows {
			r.printRows(w, rows)
		} else {
			r.printColumns(w, rows)
		}
	}
	return failed
}

func (r *fieldReport) row(o *reportObj) (reportRow, error) {
	keys := make([]*reportField, len(r.keys))
	for i, k := range r.keys {
		keys[i] = k.f
	}
	cells, err := fieldValues(o, r.fields)
	if err != nil {
		return reportRow{}, err
	}
	raw := *o
	raw.rawSizes = true
	kv, err := fieldValues(&raw, keys)
	return reportRow{cells: cells, keys: kv}, err
}

// fieldValues reads fields of o.
func fieldValues(o *reportObj, fields []*reportField) ([]string, error) {
	out := make([]string, len(fields))
	for i, f := range fields {
		v, err := f.get(o)
		if err != nil {
			return nil, fmt.Errorf("%v\n_do_report_object: report function failed for field %s", err, f.id)
		}
		out[i] = v
	}
	return out, nil
}

func (r *fieldReport) sortRows(rows []reportRow) {
	sort.SliceStable(rows, func(a, b int) bool {
		for k, key := range r.keys {
			c := compareValues(key.f, rows[a].keys[k], rows[b].keys[k])
			if c == 0 {
				continue
			}
			return c < 0 != key.desc
		}
		return false
	})
}

// compareValues orders two values of f: numbers and sizes by value (sort
// keys read sizes as plain numbers, see reportObj.rawSizes), text bytewise.
func compareValues(f *reportField, a, b string) int {
	if f.kind == textField {
		return strings.Compare(a, b)
	}
	na, _ := strconv.ParseFloat(a, 64)
	nb, _ := strconv.ParseFloat(b, 64)
	return cmp.Compare(na, nb)
}

// cell formats one value: aligned to width, or with its DM_FIELD= prefix.
func (r *fieldReport) cell(f *reportField, v string, width int) string {
	switch {
	case r.prefixes:
		q := "'"
		if !r.quoted {
			q = ""
		}
		return "DM_" + strings.ToUpper(f.id) + "=" + q + v + q
	case !r.aligned:
		return v
	case f.kind != textField:
		return fmt.Sprintf("%*s", width, v)
	default:
		return fmt.Sprintf("%-*s", width, v)
	}
}

func (r *fieldReport) printColumns(w io.Writer, rows []reportRow) {
	if r.widths == nil {
		r.widths = make([]int, len(r.fields))
	}
	widths := r.widths
	for i, f := range r.fields {
		widths[i] = max(widths[i], f.width)
		for _, row := range rows {
			widths[i] = max(widths[i], len(row.cells[i]))
		}
	}
	var b strings.Builder
	if r.headings {
		for i, f := range r.fields {
			if i > 0 {
				b.WriteString(r.sep)
			}
			if r.aligned {
				fmt.Fprintf(&b, "%-*.*s", widths[i], widths[i], f.heading)
			} else {
				b.WriteString(f.heading)
			}
		}
		b.WriteByte('\n')
	}
	for _, row := range rows {
		for i, f := range r.fields {
			if i > 0 {
				b.WriteString(r.sep)
			}
			b.WriteString(r.cell(f, row.cells[i], widths[i]))
		}
		b.WriteByte('\n')
	}
	io.WriteString(w, b.String())
}

// printRows prints each field as a line (--rows): its heading, then its
// value for every object.
func (r *fieldReport) printRows(w io.Writer, rows []reportRow) {
	var b strings.Builder
	for i, f := range r.fields {
		if r.headings {
			b.WriteString(f.heading)
			b.WriteString(r.sep)
		}
		for j, row := range rows {
			if j > 0 {
				b.WriteString(r.sep)
			}
			b.WriteString(r.cell(f, row.cells[i], 0))
		}
		b.WriteByte('\n')
	}
	io.WriteString(w, b.String())
}

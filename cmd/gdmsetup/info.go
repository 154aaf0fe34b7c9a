package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/gdmsetup/gdmsetup/dm"
)

// cmdInfo is `info [NAME...]`: dmsetup's long form, or with -c/--columns its
// report (fields chosen with -o, order with -O/--sort, headings off with
// --noheadings, --separator).
func cmdInfo(e *env) error {
	var infos []dm.Info
	if len(e.args) == 0 {
		for _, d := range e.reg.Devices() {
			infos = append(infos, d.Info())
		}
		if len(infos) == 0 {
			fmt.Fprintln(e.stdout, "No devices found")
			return nil
		}
	}
	for _, name := range e.args {
		d, ok := e.reg.Lookup(name)
		if !ok {
			return dm.ErrNoDevice
		}
		infos = append(infos, d.Info())
	}
	if e.opts.has("columns") {
		return infoColumns(e, infos)
	}
	for _, in := range infos {
		printInfo(e, in)
	}
	return nil
}

func printInfo(e *env, in dm.Info) {
	state := "ACTIVE"
	if in.Suspended {
		state = "SUSPENDED"
	}
	if in.ReadOnly {
		state += " (READ-ONLY)"
	}
	tables := "None"
	switch {
	case in.Live && in.Inactive:
		tables = "LIVE & INACTIVE"
	case in.Live:
		tables = "LIVE"
	case in.Inactive:
		tables = "INACTIVE"
	}
	w := e.stdout
	fmt.Fprintf(w, "Name:              %s\n", in.Name)
	fmt.Fprintf(w, "State:             %s\n", state)
	if in.Live {
		fmt.Fprintf(w, "Read Ahead:        %d\n", in.ReadAheadSectors)
	} else {
		// dmsetup reads the read-ahead from the device node, which
		// libdevmapper creates at the first resume.
		fmt.Fprintf(e.stderr, "/dev/mapper/%s: open failed: No such file or directory\n", in.Name)
	}
	fmt.Fprintf(w, "Tables present:    %s\n", tables)
	fmt.Fprintf(w, "Open count:        %d\n", in.OpenCount)
	fmt.Fprintf(w, "Event number:      %d\n", in.EventNr)
	fmt.Fprintf(w, "Major, minor:      %d, %d\n", dm.Major, in.Minor)
	fmt.Fprintf(w, "Number of targets: %d\n", in.Targets)
	if in.UUID != "" {
		fmt.Fprintf(w, "UUID: %s\n", in.UUID)
	}
	fmt.Fprintln(w)
}

// infoField is one column of `info -c`: its heading, minimum width,
// alignment and value (libdm's report fields of dmsetup).
type infoField struct {
	heading string
	width   int
	right   bool
	value   func(in dm.Info) string
}

var infoFields = map[string]*infoField{
	"name":     {"Name", 16, false, func(in dm.Info) string { return in.Name }},
	"major":    {"Maj", 3, true, func(dm.Info) string { return strconv.Itoa(dm.Major) }},
	"minor":    {"Min", 3, true, func(in dm.Info) string { return strconv.Itoa(int(in.Minor)) }},
	"attr":     {"Stat", 4, false, attr},
	"open":     {"Open", 4, true, func(in dm.Info) string { return strconv.Itoa(in.OpenCount) }},
	"segments": {"Targ", 4, true, func(in dm.Info) string { return strconv.Itoa(in.Targets) }},
	"events":   {"Event", 6, true, func(in dm.Info) string { return strconv.Itoa(int(in.EventNr)) }},
	"uuid":     {"UUID", 32, false, func(in dm.Info) string { return in.UUID }},
}

var infoFieldAliases = map[string]string{"maj": "major", "min": "minor", "stat": "attr", "targ": "segments", "event": "events"}

const defaultInfoFields = "name,major,minor,attr,open,segments,events,uuid"

// attr is the Stat column: live table, inactive table, suspended, read-only.
func attr(in dm.Info) string {
	b := []byte("----")
	if in.Live {
		b[0] = 'L'
	}
	if in.Inactive {
		b[1] = 'I'
	}
	if in.Suspended {
		b[2] = 's'
	}
	if in.ReadOnly {
		b[3] = 'r'
	} else {
		b[3] = 'w'
	}
	return string(b)
}

func infoColumns(e *env, infos []dm.Info) error {
	fields, err := infoFieldList(e.opts.str("options"), true)
	if err != nil {
		return err
	}
	if e.opts.has("sort") {
		keys, err := infoFieldList(e.opts.str("sort"), false)
		if err != nil {
			return err
		}
		sortInfos(infos, keys, strings.Split(e.opts.str("sort"), ","))
	}
	// libdm's report: aligned columns separated by a space; --noheadings
	// or --separator turn alignment off (":" unless a separator is given).
	aligned, sep := true, " "
	if e.opts.has("noheadings") {
		aligned, sep = false, ":"
	}
	if e.opts.has("separator") {
		aligned, sep = false, e.opts.str("separator")
	}
	rows := make([][]string, len(infos))
	widths := make([]int, len(fields))
	for j, f := range fields {
		widths[j] = max(f.width, len(f.heading))
	}
	for i, in := range infos {
		for j, f := range fields {
			v := f.value(in)
			rows[i] = append(rows[i], v)
			widths[j] = max(widths[j], len(v))
		}
	}
	cell := func(j int, v string, right bool) string {
		switch {
		case !aligned:
			return v
		case right:
			return fmt.Sprintf("%*s", widths[j], v)
		default:
			return fmt.Sprintf("%-*s", widths[j], v)
		}
	}
	if !e.opts.has("noheadings") {
		var h []string
		for j, f := range fields {
			h = append(h, cell(j, f.heading, false))
		}
		fmt.Fprintln(e.stdout, strings.Join(h, sep))
	}
	for _, row := range rows {
		cells := make([]string, len(row))
		for j, v := range row {
			cells[j] = cell(j, v, fields[j].right)
		}
		fmt.Fprintln(e.stdout, strings.Join(cells, sep))
	}
	return nil
}

// infoFieldList resolves a comma-separated field list (-o: "" is the
// default list, "+LIST" adds to it; --sort: a field may carry a leading "-"
// for descending order).
func infoFieldList(spec string, output bool) ([]*infoField, error) {
	if output {
		if spec == "" {
			spec = defaultInfoFields
		} else if rest, ok := strings.CutPrefix(spec, "+"); ok {
			spec = defaultInfoFields + "," + rest
		}
	}
	var fields []*infoField
	for _, name := range strings.Split(spec, ",") {
		name = strings.TrimSpace(name)
		if !output {
			name = strings.TrimPrefix(strings.TrimPrefix(name, "+"), "-")
		}
		if a, ok := infoFieldAliases[name]; ok {
			name = a
		}
		f, ok := infoFields[name]
		if !ok {
			return nil, usageError(fmt.Sprintf("Unrecognised field: %s", name))
		}
		fields = append(fields, f)
	}
	return fields, nil
}

// sortInfos orders the rows by the --sort keys: numbers as numbers, a key
// written "-field" descending.
func sortInfos(infos []dm.Info, keys []*infoField, spec []string) {
	sort.SliceStable(infos, func(a, b int) bool {
		for k, f := range keys {
			va, vb := f.value(infos[a]), f.value(infos[b])
			if va == vb {
				continue
			}
			less := va < vb
			if f.right {
				na, _ := strconv.Atoi(va)
				nb, _ := strconv.Atoi(vb)
				less = na < nb
			}
			if strings.HasPrefix(strings.TrimSpace(spec[k]), "-") {
				return !less
			}
			return less
		}
		return false
	})
}

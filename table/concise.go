package table

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// ConciseDevice is one device of a concise device list
// ("name,uuid,minor,flags,table").
type ConciseDevice struct {
	Name, UUID string
	Minor      *uint32 // nil when the minor field is empty
	Flags      string  // "", "ro" or "rw"
	// Table holds the table lines; none means a device without a table.
	// Their Pos is relative to this device's table field, whose lines are
	// separated by the commas after the fourth.
	Table []Line
}

// ConciseError reports a malformed concise device list. Msg uses dmsetup's
// wording where dmsetup has one.
type ConciseError struct {
	Device int      // 1-based index of the device entry in the list
	Pos    Position // where in the concise text
	Msg    string
	Err    error // the *ParseError of a bad table line (Pos relative to that device's table), else nil
}

// Error gives "concise device D (line L, column C): <msg>".
func (e *ConciseError) Error() string {
	return fmt.Sprintf("concise device %d (line %d, column %d): %s", e.Device, e.Pos.Line, e.Pos.Column, e.Msg)
}

// Unwrap returns the table line's *ParseError, if that is what is wrong.
func (e *ConciseError) Unwrap() error { return e.Err }

// Messages of ConciseError, dmsetup's own where it has them.
const (
	msgFiveFields   = "Five comma-separated fields are required for each device"
	msgIncomplete   = "Incomplete entry: five comma-separated fields are required for each device"
	msgBackslash    = "Backslash must be followed by another character at end of string."
	msgFlagsFormat  = "Invalid flags parameter '%s' must be 'ro' or 'rw' or empty."
	msgMinorFormat  = "Invalid minor number '%s': must be a decimal number below 2^32."
	msgTableFormat  = "table line %d: %s"
	msgNULConcise   = "NUL byte in concise device list"
	conciseSpecials = ",;\\"
)

// deviceAST is the grammar of one device entry. Its lexer has already split
// the list at unescaped ';', removed the escapes, and turned the commas
// inside the table field into line breaks.
type deviceAST struct {
	Pos   lexer.Position
	Name  string `parser:"@Field? Comma"`
	UUID  string `parser:"@Field? Comma"`
	Minor string `parser:"@Field? Comma"`
	Flags string `parser:"@Field? Comma"`
	Table string `parser:"@Table?"`
}

var deviceParser = participle.MustBuild[deviceAST](participle.Lexer(tokenDefinition{}))

// ParseConcise parses a concise device list as `dmsetup create --concise`
// does: devices separated by ';', each exactly five comma-separated fields
// name,uuid,minor,flags,table, where further commas in the table field
// separate table lines; a backslash makes the next character literal;
// whitespace right after a field-separating comma or a ';' is skipped.
// Devices are checked in order, each fully (fields, minor, flags, table)
// before the next, so the error is the one dmsetup would stop at. Names and
// UUIDs are not validated here.
func ParseConcise(text string) ([]ConciseDevice, error) {
	entries, err := lexConcise(text)
	if err != nil {
		return nil, err
	}
	devs := make([]ConciseDevice, 0, len(entries))
	for i, e := range entries {
		dev, err := parseDevice(e)
		if err != nil {
			err.Device = i + 1
			return nil, err
		}
		devs = append(devs, dev)
	}
	return devs, nil
}

// parseDevice parses and checks one lexed device entry.
func parseDevice(e conciseEntry) (ConciseDevice, *ConciseError) {
	if e.dangling {
		return ConciseDevice{}, &ConciseError{Pos: e.start, Msg: msgIncomplete}
	}
	ast, err := parseTokens(deviceParser, e.tokens)
	if err != nil {
		pos := e.start
		if perr, ok := err.(participle.Error); ok {
			pos = Position{Line: perr.Position().Line, Column: perr.Position().Column}
		}
		return ConciseDevice{}, &ConciseError{Pos: pos, Msg: msgFiveFields}
	}
	dev := ConciseDevice{Name: ast.Name, UUID: ast.UUID, Flags: ast.Flags}
	if ast.Minor != "" {
		minor, err := strconv.ParseUint(ast.Minor, 10, 32)
		if err != nil || ast.Minor[0] == '+' {
			return ConciseDevice{}, &ConciseError{Pos: e.fieldPos(2), Msg: fmt.Sprintf(msgMinorFormat, ast.Minor)}
		}
		m := uint32(minor)
		dev.Minor = &m
	}
	if dev.Flags != "" && dev.Flags != "ro" && dev.Flags != "rw" {
		return ConciseDevice{}, &ConciseError{Pos: e.fieldPos(3), Msg: fmt.Sprintf(msgFlagsFormat, dev.Flags)}
	}
	lines, err := Parse(ast.Table)
	if err != nil {
		cerr := &ConciseError{Pos: e.fieldPos(4), Msg: err.Error(), Err: err}
		if perr, ok := err.(*ParseError); ok {
			cerr.Msg = fmt.Sprintf(msgTableFormat, perr.Pos.Line, perr.Msg)
		}
		return ConciseDevice{}, cerr
	}
	if len(lines) > 0 {
		dev.Table = lines
	}
	return dev, nil
}

// FormatConcise returns devs in the form `dmsetup table --concise` prints,
// without the final newline: name,uuid,minor,flags then ",<start> <length>
// <type> <params>" per table line (a space always follows the type, as in
// dmsetup), devices joined by ';', and ',' ';' '\' escaped with a
// backslash. Where dmsetup's own output would not read back, it adds what
// makes it read back and nothing else: a backslash before whitespace that
// starts a name or uuid, a fifth, empty field for a device without table
// lines, and a final ';' when the text would otherwise end in a comma or an
// escaped character. Devices are expected to be valid (Flags "", "ro" or
// "rw"; lines as Parse returns them); ParseConcise(FormatConcise(devs))
// then equals devs, Pos fields aside.
func FormatConcise(devs []ConciseDevice) string {
	var b strings.Builder
	dangling := false
	for i, d := range devs {
		if i > 0 {
			b.WriteByte(';')
		}
		writeConciseField(&b, d.Name)
		b.WriteByte(',')
		writeConciseField(&b, d.UUID)
		b.WriteByte(',')
		if d.Minor != nil {
			b.WriteString(strconv.FormatUint(uint64(*d.Minor), 10))
		}
		b.WriteByte(',')
		b.WriteString(d.Flags)
		if len(d.Table) == 0 {
			b.WriteByte(',')
			dangling = true
			continue
		}
		for _, l := range d.Table {
			b.WriteByte(',')
			writeLine(&b, l, true, writeConciseQuoted)
		}
		params := d.Table[len(d.Table)-1].Params
		dangling = params != "" && strings.IndexByte(conciseSpecials, params[len(params)-1]) >= 0
	}
	if dangling {
		b.WriteByte(';')
	}
	return b.String()
}

// writeConciseField writes a name or uuid, escaped so that ParseConcise
// reads it back: the specials and a leading whitespace character.
func writeConciseField(b *strings.Builder, s string) {
	if s != "" && isCSpace(s[0]) {
		b.WriteByte('\\')
		b.WriteByte(s[0])
		s = s[1:]
	}
	writeConciseQuoted(b, s)
}

// writeConciseQuoted writes s with a backslash before each ',' ';' and '\'
// (dmsetup's _print_string_quoted).
func writeConciseQuoted(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(conciseSpecials, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
}

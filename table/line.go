// Package table reads and writes device-mapper table text the way dmsetup
// does: table lines ("<start> <length> <type> <params>") and the
// `--concise` device lists of `dmsetup create --concise` and
// `dmsetup table --concise`.
package table

import (
	"strconv"
	"strings"
)

// Line is one table line: <start> <length> <type> <params>.
type Line struct {
	Start, Length uint64 // sectors
	Type          string
	// Params is the parameter text as dmsetup sends it to the kernel: the
	// rest of the line after the type, leading whitespace skipped, a '#'
	// comment cut off, trailing whitespace trimmed.
	Params string
	Pos    Position // where the line starts in the input
}

// Position is a place in parsed text: 1-based line and 1-based byte column.
type Position struct{ Line, Column int }

// Format returns the canonical text of lines: "<start> <length> <type>
// <params>\n" per line, with the space after the type only when params is
// non-empty. Pos is ignored.
func Format(lines []Line) string {
	var b strings.Builder
	for _, l := range lines {
		writeLine(&b, l, l.Params != "", nil)
		b.WriteByte('\n')
	}
	return b.String()
}

// writeLine writes "<start> <length> <type>" then, if spaceAfterType, a
// space and the params. Type and params go through quote when it is not nil.
func writeLine(b *strings.Builder, l Line, spaceAfterType bool, quote func(*strings.Builder, string)) {
	var num [20]byte
	b.Write(strconv.AppendUint(num[:0], l.Start, 10))
	b.WriteByte(' ')
	b.Write(strconv.AppendUint(num[:0], l.Length, 10))
	b.WriteByte(' ')
	if quote == nil {
		b.WriteString(l.Type)
	} else {
		quote(b, l.Type)
	}
	if !spaceAfterType {
		return
	}
	b.WriteByte(' ')
	if quote == nil {
		b.WriteString(l.Params)
	} else {
		quote(b, l.Params)
	}
}

// isCSpace reports whether c is whitespace for C's isspace in the C locale,
// which is what dmsetup uses to trim lines and sscanf uses between fields.
func isCSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}

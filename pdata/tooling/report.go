package tooling

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// Report is the *_check programs' nested_output: each line indented two
// spaces a level. Clean is false once damage was reported.
type Report struct {
	W     io.Writer
	Level int
	Clean bool
}

// NewReport is a clean report written to w (io.Discard when quiet).
func NewReport(w io.Writer) *Report { return &Report{W: w, Clean: true} }

// Line prints one line at the current level.
func (c *Report) Line(format string, args ...any) {
	fmt.Fprintf(c.W, "%s%s\n", strings.Repeat("  ", c.Level), fmt.Sprintf(format, args...))
}

// Nested prints head, then, one level deeper, the details (nested_output::nest).
func (c *Report) Nested(head string, details ...string) {
	c.Line("%s", head)
	c.Level++
	for _, d := range details {
		c.Line("%s", d)
	}
	c.Level--
}

// LooksLikeXML is check_for_xml: block 0 starts as an XML dump does.
func LooksLikeXML(b []byte) bool {
	for _, p := range []string{"<superblock", "<?xml", "<!DOCTYPE"} {
		if bytes.HasPrefix(b, []byte(p)) {
			return true
		}
	}
	return false
}

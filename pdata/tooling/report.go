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

// CheckSuperblock is the *_check programs' first step: "examining
// superblock", then one level down why the superblock is corrupt (read's
// error) or its fields invalid (read's problems). It reports whether the
// check goes on; when it does not and block 0 holds an XML dump, it says
// that tool (the program's name) checks only binary metadata.
func (c *Report) CheckSuperblock(rd *Reader, tool string, read func() (problems []string, err error)) (bool, error) {
	c.Line("examining superblock")
	c.Level++
	problems, err := read()
	if err != nil {
		c.Nested("superblock is corrupt", err.Error())
	}
	for _, p := range problems {
		c.Nested("superblock is invalid", p)
	}
	c.Level--
	if err == nil && len(problems) == 0 {
		return true, nil
	}
	c.Clean = false
	raw, err := rd.Read(0)
	if err != nil {
		return false, err
	}
	if LooksLikeXML(raw) {
		c.Line("This looks like XML.  %s only checks the binary metadata format.", tool)
	}
	return false, nil
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

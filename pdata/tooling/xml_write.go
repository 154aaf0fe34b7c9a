package tooling

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// XMLWriter writes the tools' XML (an xml_emitter over an indented_stream:
// two spaces a level), buffered: Flush writes out what is pending.
type XMLWriter struct {
	w      *bufio.Writer
	indent int
}

// NewXMLWriter writes to w.
func NewXMLWriter(w io.Writer) *XMLWriter { return &XMLWriter{w: bufio.NewWriter(w)} }

// Line writes one line at the current indent.
func (x *XMLWriter) Line(format string, args ...any) {
	x.w.WriteString(strings.Repeat(" ", x.indent))
	fmt.Fprintf(x.w, format, args...)
	x.w.WriteByte('\n')
}

// Open writes an opening tag's line; what follows is indented one level more.
func (x *XMLWriter) Open(format string, args ...any) {
	x.Line(format, args...)
	x.indent += 2
}

// Close ends the level Open began with </tag>.
func (x *XMLWriter) Close(tag string) {
	x.indent -= 2
	x.Line("</%s>", tag)
}

// Flush writes out the buffered lines.
func (x *XMLWriter) Flush() error { return x.w.Flush() }

package main

import (
	"bytes"
	"io"
	"os"
	"strings"

	"github.com/fatih/color"
)

// colourWanted reports whether the shell colours its output: w is a
// terminal and NO_COLOR is not set (https://no-color.org).
func colourWanted(w io.Writer) bool {
	return os.Getenv("NO_COLOR") == "" && isTerminal(w)
}

var (
	errorColour     = forcedColour(color.FgRed)
	activeColour    = forcedColour(color.FgGreen)
	suspendedColour = forcedColour(color.FgYellow)
)

// forcedColour is a colour that paints whatever fatih/color guesses of
// stdout: the shell has decided already.
func forcedColour(a color.Attribute) *color.Color {
	c := color.New(a)
	c.EnableColor()
	return c
}

// paintError colours a line of a command's stderr.
func paintError(line string) string { return errorColour.Sprint(line) }

// paintState colours the state in `info`'s "State:" lines.
func paintState(line string) string {
	rest, ok := strings.CutPrefix(line, "State:")
	if !ok {
		return line
	}
	state := strings.TrimSpace(rest)
	c := activeColour
	if strings.HasPrefix(state, "SUSPENDED") {
		c = suspendedColour
	}
	return "State:" + strings.Replace(rest, state, c.Sprint(state), 1)
}

// lineWriter passes whole lines through paint (without their newline);
// Flush writes a last unterminated line.
type lineWriter struct {
	w     io.Writer
	paint func(string) string
	buf   []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 && len(l.buf) > maxChunkBytes {
			// not text (read's device bytes): pass it on unpainted
			_, err := l.w.Write(l.buf)
			l.buf = l.buf[:0]
			return len(p), err
		}
		if i < 0 {
			return len(p), nil
		}
		if _, err := io.WriteString(l.w, l.paint(string(l.buf[:i]))+"\n"); err != nil {
			return 0, err
		}
		l.buf = l.buf[i+1:]
	}
}

// Flush writes what is left.
func (l *lineWriter) Flush() error {
	if len(l.buf) == 0 {
		return nil
	}
	_, err := io.WriteString(l.w, l.paint(string(l.buf)))
	l.buf = nil
	return err
}

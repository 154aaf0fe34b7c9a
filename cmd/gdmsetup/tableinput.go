package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/table"
)

// readTable reads the table a create or load names, as dmsetup does: from
// --table, else from the file argument at args[fileArg], else from stdin.
func (e *env) readTable(fileArg int) ([]dm.TargetLine, error) {
	var text, source string
	switch {
	case e.opts.has("table"):
		text, source = e.opts.str("table"), ""
	case len(e.args) > fileArg:
		b, err := os.ReadFile(e.args[fileArg])
		if err != nil {
			return nil, usageError(fmt.Sprintf("Couldn't open '%s' for reading.", e.args[fileArg]))
		}
		text, source = string(b), e.args[fileArg]
	default:
		b, err := io.ReadAll(e.stdin)
		if err != nil {
			return nil, fmt.Errorf("reading the table from stdin: %w", err)
		}
		text, source = string(b), "on stdin"
	}
	lines, err := table.Parse(text)
	if err != nil {
		var pe *table.ParseError
		if errors.As(err, &pe) {
			return nil, usageError(fmt.Sprintf("Invalid format on line %d of table %s.", pe.Pos.Line, source))
		}
		return nil, err
	}
	return targetLines(lines), nil
}

// targetLines turns parsed table lines into what the core loads: the
// parameters split into arguments as the kernel splits them. libdm doubles
// each backslash of the parameters in the ioctl (_add_target), so the
// kernel's splitting gives them back as typed: a backslash is an ordinary
// character of a table line (/dev/mapper/a\x20b names the node of a b).
func targetLines(lines []table.Line) []dm.TargetLine {
	out := make([]dm.TargetLine, len(lines))
	for i, l := range lines {
		params := strings.ReplaceAll(l.Params, `\`, `\\`)
		out[i] = dm.TargetLine{Start: l.Start, Len: l.Length, Type: l.Type, Args: table.SplitArgs(params)}
	}
	return out
}

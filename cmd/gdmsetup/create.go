package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/gdmsetup/gdmsetup/table"
)

// cmdCreate is `create NAME [table]`: make the device, load its table and
// resume it, NAME and --uuid mangled per the mode. With --concise it creates every device of a concise list.
func cmdCreate(e *env) error {
	if e.opts.has("concise") {
		return createConcise(e)
	}
	if len(e.args) == 0 {
		return usageError("Please specify device.")
	}
	name, err := e.kernelName(e.args[0], true)
	if err != nil {
		return err
	}
	e.args[0] = name
	uuid, err := e.kernelUUID(e.opts.str("uuid"))
	if err != nil {
		return err
	}
	if e.opts.has("notable") {
		return e.reg.Create(e.args[0], uuid, nil, e.opts.has("readonly"))
	}
	lines, err := e.readTable(1)
	if err != nil {
		return err
	}
	if len(lines) == 0 {
		lines = nil
	}
	if err := e.reg.Create(e.args[0], uuid, lines, e.opts.has("readonly")); err != nil {
		return err
	}
	e.setReadAhead(e.args[0])
	return nil
}

// createConcise creates each device of `name,uuid,minor,flags,table[;...]`
// from the argument or stdin, stopping at the first failure.
func createConcise(e *env) error {
	for _, o := range []string{"table", "notable", "uuid", "inactive", "minor"} {
		if e.opts.has(o) {
			return usageError(fmt.Sprintf("--concise is incompatible with --%s.", o))
		}
	}
	if len(e.args) > 1 {
		return usageError("--concise takes at most one argument.")
	}
	var text string
	if len(e.typed) == 1 {
		text = e.typed[0]
	} else {
		b, err := io.ReadAll(e.stdin)
		if err != nil {
			return fmt.Errorf("reading the concise list from stdin: %w", err)
		}
		text = strings.TrimRight(string(b), "\n")
	}
	devs, err := table.ParseConcise(text)
	if err != nil {
		if ce, ok := err.(*table.ConciseError); ok {
			return usageError(ce.Msg)
		}
		return err
	}
	for _, d := range devs {
		name, err := e.kernelName(d.Name, true)
		if err != nil {
			return err
		}
		uuid, err := e.kernelUUID(d.UUID)
		if err != nil {
			return err
		}
		lines := targetLines(d.Table)
		if len(lines) == 0 {
			lines = nil
		}
		if err := e.reg.Create(name, uuid, lines, d.Flags == "ro"); err != nil {
			return err
		}
	}
	return nil
}

package main

import (
	"fmt"
	"strings"
)

// cmdDeps is `deps [NAME...]`: the devices a table uses, most recently
// opened first; mapped devices as "(253, MINOR)", files as "(PATH)".
func cmdDeps(e *env) error {
	names := e.args
	prefix := false
	if len(names) == 0 {
		for _, d := range e.reg.Devices() {
			names = append(names, d.Name())
		}
		if len(names) == 0 {
			fmt.Fprintln(e.stdout, "No devices found")
			return nil
		}
		prefix = true
	}
	for _, name := range names {
		deps, err := e.reg.Deps(name, e.opts.has("inactive"))
		if err != nil {
			return err
		}
		var b strings.Builder
		if prefix {
			fmt.Fprintf(&b, "%s: ", name)
		}
		fmt.Fprintf(&b, "%d dependencies\t:", len(deps))
		for _, d := range deps {
			if d.Mapped {
				fmt.Fprintf(&b, " (%d, %d)", d.Major, d.Minor)
			} else {
				fmt.Fprintf(&b, " (%s)", d.Path)
			}
		}
		fmt.Fprintln(e.stdout, b.String())
	}
	return nil
}

package main

import (
	"fmt"
	"strings"

	"github.com/gdmsetup/gdmsetup/dm"
)

// cmdDeps is `deps [-o devno|devname|blkdevname] [NAME...]`: the devices a
// table uses, most recently opened first; mapped devices as "(253, MINOR)",
// their kernel name (sysfs's, not decoded) or "dm-MINOR", files as "(PATH)"
// (where the kernel names a disk).
func cmdDeps(e *env) error {
	prefix := e.manyNames()
	return e.eachName(func(typed, kernel string) error {
		deps, err := e.reg.Deps(kernel, e.opts.has("inactive"))
		if err != nil {
			return err
		}
		if d, ok := e.reg.Lookup(kernel); ok {
			if _, err := e.shownInfo(d.Info()); err != nil {
				return err
			}
		}
		var b strings.Builder
		if prefix {
			fmt.Fprintf(&b, "%s: ", typed)
		}
		fmt.Fprintf(&b, "%d dependencies\t:", len(deps))
		for _, d := range deps {
			fmt.Fprintf(&b, " (%s)", e.depName(d))
		}
		fmt.Fprintln(e.stdout, b.String())
		return nil
	})
}

// depName is a dependency as deps -o asks for it.
func (e *env) depName(d dm.Dep) string {
	if !d.Mapped {
		return d.Path
	}
	switch e.opts.str("options") {
	case "devname":
		for _, m := range e.reg.Devices() {
			if m.Minor() == d.Minor {
				return m.Name()
			}
		}
	case "blkdevname":
		return fmt.Sprintf("dm-%d", d.Minor)
	}
	return fmt.Sprintf("%d, %d", d.Major, d.Minor)
}

package main

import (
	"fmt"

	"github.com/gdmsetup/gdmsetup/dm"
)

// cmdLs is `ls`: every device as "NAME\t(253:MINOR)"; --target TYPE keeps
// those whose live table has that type (printed "(253, MINOR)", as dmsetup
// does); --tree draws each device over the devices it uses.
func cmdLs(e *env) error {
	devs := e.reg.Devices()
	if len(devs) == 0 {
		fmt.Fprintln(e.stdout, "No devices found")
		return nil
	}
	if e.opts.has("tree") {
		return lsTree(e, devs)
	}
	typ := e.opts.str("target")
	for _, d := range devs {
		if typ == "" {
			fmt.Fprintf(e.stdout, "%s\t(%d:%d)\n", d.Name(), dm.Major, d.Minor())
			continue
		}
		lines, err := e.reg.Lines(d.Name(), false, false)
		if err != nil {
			return err
		}
		for _, l := range lines {
			if l.Type == typ {
				fmt.Fprintf(e.stdout, "%s\t(%d, %d)\n", d.Name(), dm.Major, d.Minor())
				break
			}
		}
	}
	return nil
}

// lsTree prints each device then, indented, the devices its live table uses
// (recursively), with dmsetup's `|-` and "`-" branches.
func lsTree(e *env, devs []*dm.Device) error {
	var walk func(name, prefix string) error
	walk = func(name, prefix string) error {
		deps, err := e.reg.Deps(name, false)
		if err != nil {
			return err
		}
		for i, dep := range deps {
			branch, more := " |- ", " |  "
			if i == len(deps)-1 {
				branch, more = " `- ", "    "
			}
			if !dep.Mapped {
				fmt.Fprintf(e.stdout, "%s%s(%s)\n", prefix, branch, dep.Path)
				continue
			}
			child := nameOfMinor(e, dep.Minor)
			fmt.Fprintf(e.stdout, "%s%s%s (%d:%d)\n", prefix, branch, child, dep.Major, dep.Minor)
			if err := walk(child, prefix+more); err != nil {
				return err
			}
		}
		return nil
	}
	for _, d := range devs {
		fmt.Fprintf(e.stdout, "%s (%d:%d)\n", d.Name(), dm.Major, d.Minor())
		if err := walk(d.Name(), ""); err != nil {
			return err
		}
	}
	return nil
}

func nameOfMinor(e *env, minor uint32) string {
	for _, d := range e.reg.Devices() {
		if d.Minor() == minor {
			return d.Name()
		}
	}
	return fmt.Sprintf("%d:%d", dm.Major, minor)
}

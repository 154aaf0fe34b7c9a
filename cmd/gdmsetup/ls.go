package main

import (
	"fmt"

	"github.com/gdmsetup/gdmsetup/dm"
)

// cmdLs is `ls`: every device as "NAME\t(253:MINOR)" (names as the mode
// shows them); --target TYPE keeps those whose live table has that type
// (printed "(253, MINOR)", as dmsetup does, after looking each device up
// again by its shown name); --tree draws each device over the devices it
// uses.
func cmdLs(e *env) error {
	if e.opts.has("tree") {
		return lsTree(e)
	}
	typ := e.opts.str("target")
	if typ != "" {
		return e.eachName(func(shown, kernel string) error {
			d, ok := e.reg.Lookup(kernel)
			if !ok {
				return dm.ErrNoDevice
			}
			lines, err := e.reg.Lines(kernel, false, false)
			if err != nil {
				return err
			}
			for _, l := range lines {
				if l.Type == typ {
					fmt.Fprintf(e.stdout, "%s\t(%d, %d)\n", shown, dm.Major, d.Minor())
					break
				}
			}
			return nil
		})
	}
	infos, err := e.list()
	if err != nil {
		return err
	}
	if len(infos) == 0 {
		fmt.Fprintln(e.stdout, "No devices found")
	}
	for _, in := range infos {
		fmt.Fprintf(e.stdout, "%s\t(%d:%d)\n", in.Name, dm.Major, in.Minor)
	}
	return nil
}

// lsTree is `ls --tree [-o OPTIONS]`: the dependency tree (see printTree).
func lsTree(e *env) error {
	infos, err := e.list()
	if err != nil {
		return err
	}
	if len(infos) == 0 {
		fmt.Fprintln(e.stdout, "No devices found")
		return nil
	}
	o, err := parseTreeOptions(e.opts.str("options"))
	if err != nil {
		return err
	}
	t, err := buildDepTree(e.reg, e.shownInfo)
	if err != nil {
		return err
	}
	printTree(e.stdout, t, o)
	return nil
}

// cSpace is C's isspace in the C locale.
func cSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }

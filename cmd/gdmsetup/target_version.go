package main

import (
	"fmt"
	"syscall"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/targets"
)

// cmdTargetVersion is `target-version TYPE...`: each target type's version,
// as `targets` prints it; an unknown type fails the kernel's way (EINVAL).
func cmdTargetVersion(e *env) error {
	for _, name := range e.args {
		t, ok := targets.Lookup(name)
		if !ok {
			return &dm.IoctlError{Op: "target-version", Name: name, Errno: syscall.EINVAL}
		}
		fmt.Fprintf(e.stdout, "%-16s %s\n", t.Name, t.VersionString())
	}
	return nil
}

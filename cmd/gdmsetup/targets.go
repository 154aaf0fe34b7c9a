package main

import (
	"fmt"

	"github.com/gdmsetup/gdmsetup/targets"
)

// cmdTargets is `targets`: every target type and its version.
func cmdTargets(e *env) error {
	for _, t := range targets.All() {
		fmt.Fprintf(e.stdout, "%-16s %s\n", t.Name, t.VersionString())
	}
	return nil
}

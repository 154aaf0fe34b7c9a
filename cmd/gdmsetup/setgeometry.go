package main

import "strings"

// cmdSetGeometry is `setgeometry NAME CYL HEAD SECT START`: libdm hands the
// four words to the kernel joined by spaces, which checks them (see
// dm.Registry.SetGeometry).
func cmdSetGeometry(e *env) error {
	return e.reg.SetGeometry(e.args[0], strings.Join(e.args[1:], " "))
}

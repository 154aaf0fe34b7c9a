package main

import "github.com/gdmsetup/gdmsetup/dm"

// cmdWipeTable is `wipe_table NAME...`: replace the table with an error
// target of the same size and resume.
func cmdWipeTable(e *env) error {
	return eachDevice(e, func(name string) error { return wipeTable(e, name) })
}

func wipeTable(e *env, name string) error {
	d, ok := e.reg.Lookup(name)
	if !ok {
		return &dm.IoctlError{Op: "reload", Name: name, Errno: enxio}
	}
	size := d.LenSectors()
	if err := e.reg.Load(name, []dm.TargetLine{{Start: 0, Len: size, Type: "error", Args: nil}}); err != nil {
		return err
	}
	return e.reg.Resume(name)
}

package main

import "sort"

// cmdRemoveAll is `remove_all`: every device nothing has open goes, users
// first; with --deferred the devices left open are marked to go when their
// last opener does. Then, as dmsetup, libdm's dm_mknodes reports the names
// it cannot take (see checkNodes), which does not fail the command.
func cmdRemoveAll(e *env) error {
	before := map[string]bool{}
	for _, d := range e.reg.Devices() {
		before[d.Name()] = true
	}
	remove := e.reg.RemoveAll
	if e.opts.has("deferred") {
		remove = e.reg.RemoveAllDeferred
	}
	if err := remove(); err != nil {
		return err
	}
	for _, d := range e.reg.Devices() {
		delete(before, d.Name())
	}
	gone := make([]string, 0, len(before))
	for name := range before {
		gone = append(gone, name)
	}
	sort.Strings(gone)
	if err := e.checkNodes(gone); err != nil {
		printError(e.stderr, err)
	}
	return nil
}

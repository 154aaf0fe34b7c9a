package main

// cmdRemoveAll is `remove_all`: every device nothing has open goes, users
// first; with --deferred the devices left open are marked to go when their
// last opener does.
func cmdRemoveAll(e *env) error {
	if e.opts.has("deferred") {
		return e.reg.RemoveAllDeferred()
	}
	return e.reg.RemoveAll()
}

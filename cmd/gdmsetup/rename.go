package main

// cmdRename is `rename OLD NEW`, or `rename NAME --setuuid UUID` for a
// device that has no uuid yet.
func cmdRename(e *env) error {
	if e.opts.has("setuuid") {
		if len(e.args) != 1 {
			return usageError("Please specify device and new uuid.")
		}
		return e.reg.SetUUID(e.args[0], e.opts.str("setuuid"))
	}
	if len(e.args) != 2 {
		return usageError("Please specify old and new device names.")
	}
	return e.reg.Rename(e.args[0], e.args[1])
}

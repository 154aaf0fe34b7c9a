package main

// cmdRename is `rename OLD NEW`, or `rename NAME --setuuid UUID` for a
// device that has no uuid yet (--setuuid is a flag, as in dmsetup: the uuid
// is the last argument); the new name or uuid is mangled per the mode.
// dmsetup takes a single argument as the new name or uuid of the device -u
// or -j/-m select; gdmsetup selects by name only.
func cmdRename(e *env) error {
	if len(e.args) < 2 {
		return usageError("No device specified.")
	}
	if e.opts.has("setuuid") {
		uuid, err := e.newKernelUUID(e.args[1])
		if err != nil {
			return err
		}
		return e.reg.SetUUID(e.args[0], uuid)
	}
	name, err := e.newKernelName(e.args[1])
	if err != nil {
		return err
	}
	return e.reg.Rename(e.args[0], name)
}

package main

// cmdMknodes is `mknodes [NAME...]`: dmsetup makes the device nodes under
// /dev/mapper that udev has not; gdmsetup's devices have no nodes (they are
// reached by name, through read, write and serve), so there is nothing to
// make or remove, for any name, as with dmsetup on a name that does not
// exist: it succeeds silently.
func cmdMknodes(e *env) error { return nil }

package main

// cmdMknodes is `mknodes [NAME...]`: dmsetup makes the device nodes under
// /dev/mapper that udev has not; gdmsetup's devices have no nodes (they are
// reached by name, through read, write and serve), so there is nothing to
// make or remove, for any name, as with dmsetup on a name that does not
// exist: it succeeds silently. What it reports is libdm's: a NAME refused
// (mangling, a missing /dev/mapper path: see takeNames), and without
// names the refusals of checkNodes.
func cmdMknodes(e *env) error {
	if len(e.typed) > 0 {
		return nil
	}
	return e.checkNodes(nil)
}

// checkNodes is what libdm's dm_mknodes(NULL) reports besides making
// nodes. First each node under /dev/mapper is taken by its name as a
// command-line name would be, a refusal printed and the next node taken:
// the nodes are the kernel's names of the devices there are, and of gone,
// those remove_all removed (libdm removes their nodes only here, after
// taking their names). Then the devices are listed, and each taken again
// by its shown name; the listing's error or the first refusal is returned.
// gdmsetup lists nodes in name order, where libdm reads the directory.
func (e *env) checkNodes(gone []string) error {
	nodes := gone
	for _, d := range e.reg.Devices() {
		nodes = append(nodes, d.Name())
	}
	for _, name := range nodes {
		if _, err := e.kernelName(name, false); err != nil {
			printError(e.stderr, err)
		}
	}
	infos, err := e.list()
	if err != nil {
		return err
	}
	for _, in := range infos {
		if _, err := e.kernelName(in.Name, false); err != nil {
			return err
		}
	}
	return nil
}

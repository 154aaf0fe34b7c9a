package main

// cmdMknodes is `mknodes [NAME...]`: dmsetup makes the device nodes under
// /dev/mapper that udev has not, of the named devices or of all.
// gdmsetup's devices are reached by name (read, write, serve), not through
// nodes, but it records that a node was made (dm.Registry.MakeNode), as
// opening one shows; a name that is not a device's is passed over
// silently, as by dmsetup. What it reports is libdm's: a NAME refused
// (mangling, a missing /dev/mapper path: see takeNames), and without
// names the refusals of checkNodes.
func cmdMknodes(e *env) error {
	if len(e.typed) > 0 {
		for _, k := range e.args {
			e.reg.MakeNode(k)
		}
		return nil
	}
	for _, d := range e.reg.Devices() {
		e.reg.MakeNode(d.Name())
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

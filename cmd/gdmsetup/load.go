package main

// cmdLoad is `load [--readonly] NAME [table]` (also `reload`): fill the
// inactive table, read-only with --readonly (the device takes the table's
// mode when it goes live).
func cmdLoad(e *env) error {
	if len(e.args) == 0 {
		return usageError("Please specify device.")
	}
	lines, err := e.readTable(1)
	if err != nil {
		return err
	}
	if e.opts.has("readonly") {
		return e.reg.LoadReadOnly(e.args[0], lines)
	}
	return e.reg.Load(e.args[0], lines)
}

package main

// cmdLoad is `load NAME [table]` (also `reload`): fill the inactive table.
func cmdLoad(e *env) error {
	if len(e.args) == 0 {
		return usageError("Please specify device.")
	}
	lines, err := e.readTable(1)
	if err != nil {
		return err
	}
	return e.reg.Load(e.args[0], lines)
}

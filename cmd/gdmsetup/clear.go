package main

// cmdClear is `clear NAME...`: drop the inactive table.
func cmdClear(e *env) error {
	return eachDevice(e, e.reg.Clear)
}

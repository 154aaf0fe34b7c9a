package main

// cmdSuspend is `suspend NAME...`: hold new I/O, drain what is in flight.
func cmdSuspend(e *env) error {
	return eachDevice(e, e.reg.Suspend)
}

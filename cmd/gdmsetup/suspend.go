package main

// cmdSuspend is `suspend [--noflush] NAME...`: hold new I/O, drain what is
// in flight; with --noflush, I/O a target cannot serve now is held for the
// resume instead of failed.
func cmdSuspend(e *env) error {
	if e.opts.has("noflush") {
		return eachDevice(e, e.reg.SuspendNoflush)
	}
	return eachDevice(e, e.reg.Suspend)
}

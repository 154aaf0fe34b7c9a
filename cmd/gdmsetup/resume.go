package main

// cmdResume is `resume [--noflush] NAME...`: make an inactive table live
// (the device suspended first, with noflush when asked) and resume I/O.
func cmdResume(e *env) error {
	resume := e.reg.Resume
	if e.opts.has("noflush") {
		resume = e.reg.ResumeNoflush
	}
	return eachDevice(e, func(name string) error {
		if err := resume(name); err != nil {
			return err
		}
		e.setReadAhead(name)
		return nil
	})
}

// eachDevice runs op on every device argument, stopping at the first error.
func eachDevice(e *env, op func(name string) error) error {
	if len(e.args) == 0 {
		return usageError("Please specify device.")
	}
	for _, name := range e.args {
		if err := op(name); err != nil {
			return err
		}
	}
	return nil
}

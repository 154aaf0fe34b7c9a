package main

// cmdResume is `resume [--noflush] NAME...`: make an inactive table live
// (the device suspended first, with noflush when asked) and resume I/O.
func cmdResume(e *env) error {
	if e.opts.has("noflush") {
		return eachDevice(e, e.reg.ResumeNoflush)
	}
	return eachDevice(e, e.reg.Resume)
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

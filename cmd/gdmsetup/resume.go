package main

// cmdResume is `resume NAME...`: make an inactive table live and resume I/O.
func cmdResume(e *env) error {
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

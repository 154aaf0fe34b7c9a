package main

// cmdUdevReleaseCookie is `udevreleasecookie [COOKIE]` (COOKIE defaults to
// --udevcookie's): it checks the cookie and, with no udev to wait for,
// returns at once.
func cmdUdevReleaseCookie(e *env) error {
	var cookie uint32
	switch {
	case len(e.args) == 1:
		c, err := parseCookie(e.args[0])
		if err != nil {
			return err
		}
		cookie = c
	case e.opts.has("udevcookie"):
		cookie, _ = parseCookie(e.opts.str("udevcookie"))
	}
	if cookie == 0 {
		return usageError("No udev transaction cookie given.")
	}
	return nil
}

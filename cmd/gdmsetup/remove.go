package main

// cmdRemove is `remove NAME...`; with --force a device in use first gets an
// error table, as dmsetup does; with --deferred a device in use stays,
// marked, and goes when its last opener does.
func cmdRemove(e *env) error {
	return eachDevice(e, func(name string) error {
		if e.opts.has("force") {
			if d, ok := e.reg.Lookup(name); ok && d.Info().OpenCount > 0 {
				if err := wipeTable(e, name); err != nil {
					return err
				}
			}
		}
		if e.opts.has("deferred") {
			return e.reg.RemoveDeferred(name)
		}
		return e.reg.Remove(name)
	})
}

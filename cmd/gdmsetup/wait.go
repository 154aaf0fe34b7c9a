package main

import (
	"time"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/targets"
)

// waitSlice is how long wait holds the state directory at a time before
// letting other processes in.
const waitSlice = 100 * time.Millisecond

// cmdWait is `wait NAME [EVENT_NR]`: return once the device's event number
// differs from EVENT_NR (default 0), as DM_DEV_WAIT does. While it waits the
// device's targets keep running in this process (e.g. clone hydration).
func cmdWait(e *env) error {
	if len(e.args) == 0 {
		return usageError("Please specify device.")
	}
	var want uint64
	if len(e.args) > 1 {
		n, ok := targets.ParseUint(e.args[1], 32)
		if !ok {
			return usageError("Invalid event number.")
		}
		want = n
	}
	name := e.args[0]
	if e.reg == nil {
		r, err := dm.Open(stateDir(e.opts), e.stderr)
		if err != nil {
			return err
		}
		e.reg, e.ownRegistry = r, true
		defer func() { e.reg.Close() }()
	}
	for {
		d, ok := e.reg.Lookup(name)
		if !ok {
			return &dm.IoctlError{Op: "waitevent", Name: name, Errno: enxio}
		}
		if err := d.Prepare(); err != nil && d.Info().Live {
			return err
		}
		if d.WaitEvent(uint32(want), waitSlice) {
			return nil
		}
		if e.ownRegistry {
			if err := e.reopen(10 * time.Millisecond); err != nil {
				return err
			}
		}
	}
}

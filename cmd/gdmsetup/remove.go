package main

import (
	"errors"
	"fmt"
	"syscall"
	"time"
)

// libdm's DM_IOCTL_RETRIES and DM_RETRY_USLEEP_DELAY: with --retry, a
// remove refused because the device is busy is tried this many times in
// all, this long apart, each refusal printed.
const (
	removeTries      = 25
	removeRetryDelay = 200 * time.Millisecond
)

// cmdRemove is `remove NAME...`; with --force a device in use first gets an
// error table, as dmsetup does; with --deferred a device in use stays,
// marked, and goes when its last opener does; with --retry a busy device is
// tried again (another process may close it meanwhile).
func cmdRemove(e *env) error {
	return eachDevice(e, func(name string) error {
		if e.opts.has("force") {
			if d, ok := e.reg.Lookup(name); ok && d.Info().OpenCount > 0 {
				if err := wipeTable(e, name); err != nil {
					return err
				}
			}
		}
		remove := func() error {
			if e.opts.has("deferred") {
				return e.reg.RemoveDeferred(name)
			}
			return e.reg.Remove(name)
		}
		err := remove()
		for try := 1; try < removeTries && e.opts.has("retry") && errors.Is(err, syscall.EBUSY); try++ {
			fmt.Fprintln(e.stderr, err)
			if err := e.pause(removeRetryDelay); err != nil {
				return err
			}
			err = remove()
		}
		return err
	})
}

package targets

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrClaimed is matched by the errors of Claim when another open of the same
// file holds a conflicting claim.
var ErrClaimed = errors.New("in use")

// Claim is gdmsetup's form of the kernel's exclusive opens: a table holds a
// shared claim on every file it opens (as dm claims its devices), and an
// offline tool that writes a file or must see it at rest (thin restore,
// repair and trim) holds an exclusive one (as the tools open with O_EXCL).
// A claim is an flock on f, so it lasts until f is closed and binds every
// process (and every other open of the file in this one) but no other
// program. A conflicting claim is an error wrapping ErrClaimed and EBUSY,
// naming path; Claim never waits.
func Claim(f *os.File, path string, exclusive bool) error {
	how, holder := unix.LOCK_SH, "a thin tool (gdmsetup thin restore, repair or trim)"
	if exclusive {
		how, holder = unix.LOCK_EX, "a device-mapper table or a thin tool (a running gdmsetup has it open)"
	}
	for {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EWOULDBLOCK):
			return fmt.Errorf("%s: %w by %s: %w", path, ErrClaimed, holder, syscall.EBUSY)
		default:
			return fmt.Errorf("%s: claim: %w", path, err)
		}
	}
}

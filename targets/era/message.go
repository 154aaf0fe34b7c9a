package era

import (
	"errors"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Message is era_message: checkpoint, take_metadata_snap and
// drop_metadata_snap (any case), each run by the worker, which commits.
func (e *Era) Message(args []string) (string, error) {
	if len(args) != 1 {
		e.logf("incorrect number of message arguments")
		return "", syscall.EINVAL
	}
	var fn func(*metadata) error
	switch targets.LowerASCII(args[0]) {
	case "checkpoint":
		fn = (*metadata).rollover
	case "take_metadata_snap":
		fn = (*metadata).takeSnap
	case "drop_metadata_snap":
		fn = (*metadata).dropSnap
	default:
		e.logf("unsupported message '%s'", args[0])
		return "", syscall.EINVAL
	}
	err := e.rpc(fn)
	switch {
	case err == nil:
		return "", nil
	case errors.Is(err, errSnapExists), errors.Is(err, errNoSnap):
		e.logf("%s", trimErrno(err))
	default:
		e.logf("%s: %v", args[0], err)
	}
	var en syscall.Errno
	if errors.As(err, &en) {
		return "", en
	}
	return "", err
}

// trimErrno is err's text without the ": <errno text>" it wraps.
func trimErrno(err error) string {
	s := err.Error()
	var en syscall.Errno
	if errors.As(err, &en) {
		if t := ": " + en.Error(); len(s) > len(t) && s[len(s)-len(t):] == t {
			return s[:len(s)-len(t)]
		}
	}
	return s
}

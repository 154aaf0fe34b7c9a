package nbd

import (
	"errors"
	"syscall"
)

// errnoOf maps an export's error to the NBD error number sent to the client: a wrapped
// syscall.Errno keeps its meaning where the protocol has one, everything else is EIO.
func errnoOf(err error) uint32 {
	var e syscall.Errno
	if !errors.As(err, &e) {
		return errIO
	}
	switch e {
	case syscall.EPERM, syscall.EROFS, syscall.EACCES:
		return errPerm
	case syscall.ENOMEM:
		return errNoMem
	case syscall.EINVAL:
		return errInval
	case syscall.ENOSPC, syscall.EDQUOT, syscall.EFBIG:
		return errNoSpc
	case syscall.EOVERFLOW:
		return errOverflow
	case syscall.EOPNOTSUPP:
		return errNotSup
	case syscall.ESHUTDOWN:
		return errShutdown
	}
	return errIO
}

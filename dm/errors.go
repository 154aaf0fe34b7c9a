package dm

import (
	"fmt"
	"syscall"

	"github.com/gdmsetup/gdmsetup/errno"
)

// IoctlError is a failed device-mapper operation as dmsetup reports it:
// `device-mapper: <op> ioctl on <name> <uuid>[(<maj>:<min>)] failed: <strerror>`.
type IoctlError struct {
	Op, Name, UUID string
	// ShowMinor is set where libdm knows the device number (a create's reload).
	ShowMinor bool
	Minor     uint32
	Errno     syscall.Errno
}

func (e *IoctlError) Error() string {
	dev := ""
	if e.ShowMinor {
		dev = fmt.Sprintf("(%d:%d)", Major, e.Minor)
	}
	return fmt.Sprintf("device-mapper: %s ioctl on %s %s%s failed: %s", e.Op, e.Name, e.UUID, dev, errno.Text(e.Errno))
}

// Unwrap gives the errno.
func (e *IoctlError) Unwrap() error { return e.Errno }

// ErrNoDevice is dmsetup's `Device does not exist.` (status and info of a missing device).
var ErrNoDevice = fmt.Errorf("Device does not exist.")

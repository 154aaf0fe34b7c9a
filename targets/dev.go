package targets

import (
	"errors"
	"io"
)

// Dev is a device a target maps onto: a regular file, a block device, or
// another mapped device. Offsets and lengths are in bytes.
type Dev interface {
	io.ReaderAt
	io.WriterAt
	// SizeBytes is the device size now.
	SizeBytes() int64
	// Flush makes completed writes durable.
	Flush() error
	// Discard releases a byte range; it reads back as zeros where the device can.
	Discard(offBytes, lenBytes int64) error
	// Name is how the kernel prints the device in table and status lines:
	// "253:MINOR" for a mapped device, the absolute path for a file.
	Name() string
}

// DiskNamer is a Dev with its own name for kernel log lines that print a disk
// (`vda too small for target`); other devices use Name there.
type DiskNamer interface {
	DiskName() string
}

// DiskName returns the name the kernel log uses for dev.
func DiskName(dev Dev) string {
	if n, ok := dev.(DiskNamer); ok {
		return n.DiskName()
	}
	return dev.Name()
}

// DevZeroer is a Dev that zeroes a byte range without being sent zeros
// (REQ_OP_WRITE_ZEROES). mayUnmap lets it deallocate the range, which must
// still read back as zeros. An error matching errors.ErrUnsupported means it
// cannot do so here: the caller writes zeros instead.
type DevZeroer interface {
	WriteZeroes(offBytes, lenBytes int64, mayUnmap bool) error
}

// ErrReleased is the error of I/O that a suspended device held when its
// process closed the device (to let other processes in, or to end): the
// I/O was not done, and may be tried again once the device is resumed.
var ErrReleased = errors.New("I/O held by a suspend released unserved: the device is closing")

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

// Splitter is a Dev that splits an I/O it is sent into pieces and trims
// the caller's bio as it goes, as a mapped device does (dm's core, at its
// targets' boundaries and max_io_len): once the I/O completes, the caller's
// bio covers only the last piece. LastPieceBytes is where that piece
// starts in [offBytes, offBytes+lenBytes). A disk (request-based: a file
// or block device here) is no Splitter: it advances a completed bio to its
// end. flakey's 6.1 read corruption depends on the difference.
type Splitter interface {
	LastPieceBytes(offBytes, lenBytes int64) int64
}

// DevZeroer is a Dev that zeroes a byte range without being sent zeros
// (REQ_OP_WRITE_ZEROES). mayUnmap lets it deallocate the range, which must
// still read back as zeros. An error matching errors.ErrUnsupported means it
// cannot do so here: the caller writes zeros instead.
type DevZeroer interface {
	WriteZeroes(offBytes, lenBytes int64, mayUnmap bool) error
}

// ErrRequeue is what a target returns for I/O it sends back to the core
// to be issued again (DM_MAPIO_REQUEUE, DM_ENDIO_REQUEUE), which it does
// only while its device is being suspended with noflush
// (Context.NoflushSuspending): the core holds the I/O until the device
// resumes and then issues it, whole, to the table live then.
var ErrRequeue = errors.New("I/O sent back by its target to be issued again after the resume")

// ErrReleased is the error of I/O that a suspended device held when its
// process closed the device (to let other processes in, or to end): the
// I/O was not done, and may be tried again once the device is resumed.
var ErrReleased = errors.New("I/O held by a suspend released unserved: the device is closing")

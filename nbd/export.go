// Package nbd serves block devices over the Network Block Device protocol (fixed newstyle
// negotiation, simple and structured replies, base:allocation block status) to real clients
// such as qemu, nbdcopy, nbdinfo and fio's nbd engine.
package nbd

import "io"

// Export is one exported device. Its methods may be called concurrently from many requests
// and many connections. Errors that wrap a syscall.Errno (EIO, ENOSPC, EPERM, ...) are sent to
// the client with that error number; any other error is sent as EIO.
type Export interface {
	io.ReaderAt
	io.WriterAt
	// Size is the device size in bytes; it must not change while the export is open.
	Size() int64
	// Flush makes durable (data and metadata) every write completed before it was called,
	// whichever connection sent it: the server relies on this to advertise CAN_MULTI_CONN.
	Flush() error
	// Discard (TRIM) tells the device the range's contents are no longer needed; reads of it
	// afterwards may return anything until it is written again.
	Discard(offBytes, lenBytes int64) error
	// ReadOnly reports that writes, discards and write-zeroes must be refused with EPERM.
	ReadOnly() bool
}

// Waiter is implemented by exports whose requests may wait far longer than the device's
// service time (a dm delay target): while MayWait reports so, the server runs none of their
// requests on the connection's reader (see conn.transmit), where one that waits would hold
// back the requests behind it.
type Waiter interface {
	MayWait() bool
}

// ZeroWriter is implemented by exports that can zero a range without the server sending zero
// buffers through WriteAt. mayTrim allows the export to deallocate the range while zeroing it.
type ZeroWriter interface {
	WriteZeroes(offBytes, lenBytes int64, mayTrim bool) error
}

// FUAWriter is implemented by exports that make one write durable by itself: a WRITE with
// NBD_CMD_FLAG_FUA goes to WriteFUA, which returns once the write is durable (a mapped device
// sends its targets REQ_FUA writes), instead of to WriteAt and then Flush.
type FUAWriter interface {
	WriteFUA(p []byte, offBytes int64) (int, error)
}

// BlockStatuser is implemented by exports that know their allocation map. BlockStatus returns
// consecutive extents starting at offBytes that cover at least one byte of the range; it may
// stop short of lenBytes (the client asks again for the rest) and the last extent may run past
// the range, but not past Size. Every extent must have LenBytes > 0.
type BlockStatuser interface {
	BlockStatus(offBytes, lenBytes int64) ([]Extent, error)
}

// Extent is one run of the base:allocation map: Hole means not allocated, Zero means reads
// return zeroes.
type Extent struct {
	LenBytes int64
	Hole     bool
	Zero     bool
}

// Exports is the set of devices a Server offers.
type Exports interface {
	// List returns the export names, for NBD_OPT_LIST.
	List() []string
	// Open is called once per client when it selects name (NBD_OPT_GO or NBD_OPT_EXPORT_NAME);
	// release is called exactly once when that client is gone. A name that does not exist must
	// give an error (the client gets NBD_REP_ERR_UNKNOWN).
	Open(name string) (exp Export, release func(), err error)
}

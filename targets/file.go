package targets

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// File is a regular file or a block device used as a Dev. Its methods are
// safe for concurrent use (pread/pwrite on its descriptors); UseDirect must
// be called before the File is shared.
type File struct {
	f        *os.File
	path     string
	block    bool
	readOnly bool // opened read-only: writing was not allowed
	// direct, when not nil, is a second descriptor opened with O_DIRECT:
	// reads and writes whose offset and length are multiples of
	// dioOffsetBytes and whose buffer is aligned to dioMemBytes use it.
	direct                      *os.File
	dioOffsetBytes, dioMemBytes int64
	// endBytes is the size SizeBytes last found (the capacity a table was
	// checked against): a write that ends past it looks again before it is
	// refused, so a file grown meanwhile takes it.
	endBytes atomic.Int64
}

// OpenFile opens path read-write (read-only when writing is not allowed) as a
// Dev, with a shared Claim. A missing path gives ENODEV, as dm_get_device
// does; anything that is neither a regular file nor a block device gives
// ENOTBLK; a file a thin tool claims gives EBUSY.
func OpenFile(path string) (*File, error) { return openFile(path, false) }

// OpenExclusive opens path read-write with an exclusive Claim, for an offline
// tool that changes what no table may be using (thin trim); errors as OpenFile,
// and EACCES when the file cannot be written.
func OpenExclusive(path string) (*File, error) { return openFile(path, true) }

func openFile(path string, exclusive bool) (*File, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, syscall.ENODEV)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", abs, syscall.ENODEV)
	}
	block := st.Mode()&os.ModeDevice != 0 && st.Mode()&os.ModeCharDevice == 0
	if !st.Mode().IsRegular() && !block {
		return nil, fmt.Errorf("%s: %w", abs, syscall.ENOTBLK)
	}
	readOnly := false
	f, err := os.OpenFile(abs, os.O_RDWR, 0)
	if err != nil && !exclusive {
		f, err = os.OpenFile(abs, os.O_RDONLY, 0)
		readOnly = true
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", abs, syscall.EACCES)
	}
	if err := Claim(f, abs, exclusive); err != nil {
		f.Close()
		return nil, err
	}
	d := &File{f: f, path: abs, block: block, readOnly: readOnly}
	d.SizeBytes()
	return d, nil
}

// dioFallbackBytes is the O_DIRECT alignment assumed when the kernel does not
// report one (statx STATX_DIOALIGN): a page, enough for any device.
const dioFallbackBytes = 4096

// UseDirect opens a second descriptor with O_DIRECT, so that aligned reads
// and writes bypass the page cache (as qemu's cache=none); unaligned ones
// stay buffered. The alignment is the file system's (statx), else 4096. A
// file system without O_DIRECT gives an error naming the file.
func (d *File) UseDirect() error {
	flags := os.O_RDWR
	if d.readOnly {
		flags = os.O_RDONLY
	}
	f, err := os.OpenFile(d.path, flags|unix.O_DIRECT, 0)
	if err != nil {
		return fmt.Errorf("%s: cannot open with O_DIRECT: %w", d.path, errnoOrEIO(err))
	}
	d.direct, d.dioOffsetBytes, d.dioMemBytes = f, dioFallbackBytes, dioFallbackBytes
	var st unix.Statx_t
	if unix.Statx(int(f.Fd()), "", unix.AT_EMPTY_PATH, unix.STATX_DIOALIGN, &st) == nil &&
		st.Mask&unix.STATX_DIOALIGN != 0 && st.Dio_offset_align > 0 {
		d.dioOffsetBytes, d.dioMemBytes = int64(st.Dio_offset_align), max(int64(st.Dio_mem_align), 1)
	}
	return nil
}

// fd returns the descriptor for I/O of p at off: the O_DIRECT one when it
// exists and the request is aligned for it, the buffered one otherwise.
func (d *File) fd(p []byte, off int64) *os.File {
	if d.direct != nil && off%d.dioOffsetBytes == 0 && int64(len(p))%d.dioOffsetBytes == 0 &&
		int64(uintptr(unsafe.Pointer(unsafe.SliceData(p))))%d.dioMemBytes == 0 {
		return d.direct
	}
	return d.f
}

// Name is the file's absolute path.
func (d *File) Name() string { return d.path }

// SizeBytes is the file's current size (a block device's capacity).
func (d *File) SizeBytes() int64 {
	n := d.statSize()
	d.endBytes.Store(n)
	return n
}

func (d *File) statSize() int64 {
	if d.block {
		n, err := d.f.Seek(0, io.SeekEnd)
		if err != nil {
			return 0
		}
		return n
	}
	st, err := d.f.Stat()
	if err != nil {
		return 0
	}
	return st.Size()
}

// ReadAt reads len(p) bytes at off; reading past the end is an I/O error, as
// on a disk.
func (d *File) ReadAt(p []byte, off int64) (int, error) {
	n, err := d.fd(p, off).ReadAt(p, off)
	if err == io.EOF {
		return n, fmt.Errorf("%s: read of %d bytes at %d past the end: %w", d.path, len(p), off, syscall.EIO)
	}
	if err != nil {
		return n, fmt.Errorf("%s: %w", d.path, errnoOrEIO(err))
	}
	return n, nil
}

// WriteAt writes p at off. A write that would end past the end of the file
// is an I/O error and writes nothing, as on a disk: a regular file is never
// extended.
func (d *File) WriteAt(p []byte, off int64) (int, error) { return d.write(p, off, false) }

// WriteFUA is targets.DevFUAWriter: WriteAt with RWF_DSYNC, durable when
// it returns (a REQ_FUA bio when the O_DIRECT descriptor of a block device
// takes it).
func (d *File) WriteFUA(p []byte, off int64) error {
	_, err := d.write(p, off, true)
	return err
}

// write is pwrite of p at off, or with dsync pwritev2 with RWF_DSYNC.
func (d *File) write(p []byte, off int64, dsync bool) (int, error) {
	if end := off + int64(len(p)); end > d.endBytes.Load() && end > d.SizeBytes() {
		return 0, fmt.Errorf("%s: write of %d bytes at %d past the end: %w", d.path, len(p), off, syscall.EIO)
	}
	f := d.fd(p, off)
	var n int
	var err error
	if !dsync {
		n, err = f.WriteAt(p, off)
	}
	for dsync && n < len(p) && err == nil {
		var k int
		k, err = unix.Pwritev2(int(f.Fd()), [][]byte{p[n:]}, off+int64(n), unix.RWF_DSYNC)
		if k <= 0 && err == nil {
			err = io.ErrShortWrite
		}
		n += max(k, 0)
	}
	if err != nil {
		return n, fmt.Errorf("%s: %w", d.path, errnoOrEIO(err))
	}
	return n, nil
}

// Flush fsyncs the file.
func (d *File) Flush() error {
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("%s: %w", d.path, errnoOrEIO(err))
	}
	return nil
}

// Discard punches a hole (regular file) or sends BLKDISCARD (block device).
func (d *File) Discard(off, length int64) error {
	if length <= 0 {
		return nil
	}
	var err error
	if d.block {
		r := [2]uint64{uint64(off), uint64(length)}
		_, _, e := unix.Syscall(unix.SYS_IOCTL, d.f.Fd(), unix.BLKDISCARD, uintptrOf(&r))
		if e != 0 {
			err = e
		}
	} else {
		err = unix.Fallocate(int(d.f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, length)
	}
	if err != nil {
		return fmt.Errorf("%s: discard %d+%d: %w", d.path, off, length, errnoOrEIO(err))
	}
	return nil
}

// WriteZeroes zeroes a byte range without writing zeros (REQ_OP_WRITE_ZEROES):
// fallocate punches a hole when mayUnmap, else allocates zeroed blocks
// (FALLOC_FL_ZERO_RANGE); block devices take both modes too. A file system or
// device that cannot gives an error matching errors.ErrUnsupported.
func (d *File) WriteZeroes(off, length int64, mayUnmap bool) error {
	mode := uint32(unix.FALLOC_FL_ZERO_RANGE | unix.FALLOC_FL_KEEP_SIZE)
	if mayUnmap {
		mode = unix.FALLOC_FL_PUNCH_HOLE | unix.FALLOC_FL_KEEP_SIZE
	}
	if err := unix.Fallocate(int(d.f.Fd()), mode, off, length); err != nil {
		return fmt.Errorf("%s: write zeroes %d+%d: %w", d.path, off, length, errnoOrEIO(err))
	}
	return nil
}

// Close closes the file (and its O_DIRECT descriptor).
func (d *File) Close() error {
	if d.direct != nil {
		d.direct.Close()
	}
	return d.f.Close()
}

func errnoOrEIO(err error) error {
	var e syscall.Errno
	if pe, ok := err.(*os.PathError); ok {
		err = pe.Err
	}
	if x, ok := err.(syscall.Errno); ok {
		e = x
	} else {
		e = syscall.EIO
	}
	return e
}

package targets

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// File is a regular file or a block device used as a Dev. Its methods are
// safe for concurrent use (pread/pwrite on one descriptor).
type File struct {
	f     *os.File
	path  string
	block bool
}

// OpenFile opens path read-write (read-only when writing is not allowed) as a
// Dev. A missing path gives ENODEV, as dm_get_device does; anything that is
// neither a regular file nor a block device gives ENOTBLK.
func OpenFile(path string) (*File, error) {
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
	f, err := os.OpenFile(abs, os.O_RDWR, 0)
	if err != nil {
		f, err = os.OpenFile(abs, os.O_RDONLY, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", abs, syscall.EACCES)
	}
	return &File{f: f, path: abs, block: block}, nil
}

// Name is the file's absolute path.
func (d *File) Name() string { return d.path }

// SizeBytes is the file's current size (a block device's capacity).
func (d *File) SizeBytes() int64 {
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
	n, err := d.f.ReadAt(p, off)
	if err == io.EOF {
		return n, fmt.Errorf("%s: read of %d bytes at %d past the end: %w", d.path, len(p), off, syscall.EIO)
	}
	if err != nil {
		return n, fmt.Errorf("%s: %w", d.path, errnoOrEIO(err))
	}
	return n, nil
}

// WriteAt writes p at off.
func (d *File) WriteAt(p []byte, off int64) (int, error) {
	n, err := d.f.WriteAt(p, off)
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

// Close closes the file.
func (d *File) Close() error { return d.f.Close() }

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

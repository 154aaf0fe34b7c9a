package nbd

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// FileExport exports a regular file (or block device) with pread/pwrite. Flush is fdatasync,
// Discard and WriteZeroes punch or zero holes with fallocate, BlockStatus reads the file's
// holes with SEEK_DATA/SEEK_HOLE, Cache is posix_fadvise WILLNEED. With direct set, aligned
// requests bypass the page cache through an O_DIRECT descriptor and unaligned ones use the
// buffered descriptor. The descriptors are safe for concurrent use; FileExport holds no lock.
type FileExport struct {
	f, direct *os.File
	sizeB     int64
	readOnly  bool
	blockDev  bool // f is a block device, not a regular file
}

// OpenFileExport opens path for export. The file's size at open is the export size.
func OpenFileExport(path string, readOnly, direct bool) (*FileExport, error) {
	flags := os.O_RDWR
	if readOnly {
		flags = os.O_RDONLY
	}
	f, err := os.OpenFile(path, flags, 0)
	if err != nil {
		return nil, fmt.Errorf("export file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("export file: %w", err)
	}
	sizeB := st.Size()
	blockDev := st.Mode()&os.ModeDevice != 0
	if blockDev {
		if sizeB, err = f.Seek(0, 2); err != nil {
			f.Close()
			return nil, fmt.Errorf("export file %s: size: %w", path, err)
		}
	}
	e := &FileExport{f: f, sizeB: sizeB, readOnly: readOnly, blockDev: blockDev}
	if direct {
		if e.direct, err = os.OpenFile(path, flags|unix.O_DIRECT, 0); err != nil {
			f.Close()
			return nil, fmt.Errorf("export file %s with O_DIRECT: %w", path, err)
		}
	}
	return e, nil
}

// directOK reports whether a request can go through the O_DIRECT descriptor.
func (e *FileExport) directOK(p []byte, offBytes int64) bool {
	const sectorBytes = 512
	return e.direct != nil && offBytes%sectorBytes == 0 && len(p)%sectorBytes == 0 &&
		uintptrOf(p)%sectorBytes == 0
}

// ReadAt reads with pread.
func (e *FileExport) ReadAt(p []byte, offBytes int64) (int, error) {
	if e.directOK(p, offBytes) {
		return e.direct.ReadAt(p, offBytes)
	}
	return e.f.ReadAt(p, offBytes)
}

// WriteAt writes with pwrite.
func (e *FileExport) WriteAt(p []byte, offBytes int64) (int, error) {
	if e.directOK(p, offBytes) {
		return e.direct.WriteAt(p, offBytes)
	}
	return e.f.WriteAt(p, offBytes)
}

// Size returns the size at open.
func (e *FileExport) Size() int64 { return e.sizeB }

// ReadOnly reports whether the file was opened read-only.
func (e *FileExport) ReadOnly() bool { return e.readOnly }

// Flush runs fdatasync.
func (e *FileExport) Flush() error {
	if err := unix.Fdatasync(int(e.f.Fd())); err != nil {
		return fmt.Errorf("flush %s: %w", e.f.Name(), err)
	}
	return nil
}

// Discard punches a hole over the range.
func (e *FileExport) Discard(offBytes, lenBytes int64) error {
	return e.fallocate(unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, offBytes, lenBytes)
}

// zeroMode is the fallocate mode that zeroes a range: a hole punched when mayTrim, else zeroed
// blocks allocated (FALLOC_FL_ZERO_RANGE).
func zeroMode(mayTrim bool) uint32 {
	if mayTrim {
		return unix.FALLOC_FL_PUNCH_HOLE | unix.FALLOC_FL_KEEP_SIZE
	}
	return unix.FALLOC_FL_ZERO_RANGE | unix.FALLOC_FL_KEEP_SIZE
}

// WriteZeroes punches a hole when mayTrim, else allocates zeroes (FALLOC_FL_ZERO_RANGE); if the
// file system cannot, it writes zero buffers.
func (e *FileExport) WriteZeroes(offBytes, lenBytes int64, mayTrim bool) error {
	if e.fallocate(zeroMode(mayTrim), offBytes, lenBytes) == nil {
		return nil
	}
	for lenBytes > 0 {
		n := min(lenBytes, int64(len(zeroBuf)))
		if _, err := e.f.WriteAt(zeroBuf[:n], offBytes); err != nil {
			return fmt.Errorf("write zeroes %s at %d: %w", e.f.Name(), offBytes, err)
		}
		offBytes, lenBytes = offBytes+n, lenBytes-n
	}
	return nil
}

// WriteZeroesFast is WriteZeroes by fallocate alone, which the file system does by changing
// its extent map rather than writing blocks: fast on a regular file, as qemu-nbd finds it (and
// unlike nbdkit's file plugin, which never claims fast zeroes). On a block device only the
// hole punch (mayTrim) counts, since the kernel fails it when the device cannot zero by
// itself, where it would write zero pages for FALLOC_FL_ZERO_RANGE. Anything fallocate
// cannot do (EOPNOTSUPP, a range a block device finds unaligned) is refused with EOPNOTSUPP,
// before anything is written.
func (e *FileExport) WriteZeroesFast(offBytes, lenBytes int64, mayTrim bool) error {
	if e.blockDev && !mayTrim {
		return fmt.Errorf("fast zero %s at %d+%d: a block device may fall back to writing zeroes without a hole punch: %w", e.f.Name(), offBytes, lenBytes, unix.EOPNOTSUPP)
	}
	err := e.fallocate(zeroMode(mayTrim), offBytes, lenBytes)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOSYS) {
		return fmt.Errorf("%w (%w)", unix.EOPNOTSUPP, err)
	}
	return err
}

// Cache starts read-ahead of the range into the page cache (posix_fadvise WILLNEED), as
// nbdkit's file plugin does. With direct set it does nothing: aligned reads bypass the page
// cache.
func (e *FileExport) Cache(offBytes, lenBytes int64) error {
	if e.direct != nil {
		return nil
	}
	if err := unix.Fadvise(int(e.f.Fd()), offBytes, lenBytes, unix.FADV_WILLNEED); err != nil {
		return fmt.Errorf("cache %s at %d+%d: posix_fadvise: %w", e.f.Name(), offBytes, lenBytes, err)
	}
	return nil
}

// fallocate runs fallocate(2) with mode over the range.
func (e *FileExport) fallocate(mode uint32, offBytes, lenBytes int64) error {
	if err := unix.Fallocate(int(e.f.Fd()), mode, offBytes, lenBytes); err != nil {
		return fmt.Errorf("fallocate %s mode %#x at %d+%d: %w", e.f.Name(), mode, offBytes, lenBytes, err)
	}
	return nil
}

// BlockStatus reports data and holes (holes read as zeroes) from SEEK_DATA/SEEK_HOLE. A file
// system without hole support reports everything as data.
func (e *FileExport) BlockStatus(offBytes, lenBytes int64) ([]Extent, error) {
	var exts []Extent
	fd := int(e.f.Fd())
	end := min(offBytes+lenBytes, e.sizeB)
	for pos := offBytes; pos < end && len(exts) < maxExtents; {
		data, err := unix.Seek(fd, pos, unix.SEEK_DATA)
		if err == unix.ENXIO {
			data = e.sizeB
		} else if err != nil {
			return nil, fmt.Errorf("block status %s at %d: SEEK_DATA: %w", e.f.Name(), pos, err)
		}
		if data > pos {
			exts = append(exts, Extent{LenBytes: min(data, end) - pos, Hole: true, Zero: true})
			pos = min(data, end)
			continue
		}
		hole, err := unix.Seek(fd, pos, unix.SEEK_HOLE)
		if err != nil {
			return nil, fmt.Errorf("block status %s at %d: SEEK_HOLE: %w", e.f.Name(), pos, err)
		}
		exts = append(exts, Extent{LenBytes: min(hole, end) - pos})
		pos = min(hole, end)
	}
	return exts, nil
}

// Close closes the descriptors.
func (e *FileExport) Close() error {
	if e.direct != nil {
		e.direct.Close()
	}
	return e.f.Close()
}

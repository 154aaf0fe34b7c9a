package block

import (
	"fmt"
	"io"
	"os"
)

// Device is the storage a Manager runs on: random-access reads and writes,
// a durability barrier, and its current size in bytes.
type Device interface {
	io.ReaderAt
	io.WriterAt
	// Sync makes every completed write durable.
	Sync() error
	// SizeBytes returns the current size of the device in bytes.
	SizeBytes() (int64, error)
}

// FileDevice is a Device backed by an *os.File (a regular file or a block device).
type FileDevice struct {
	*os.File
}

// OpenFile opens path read-write (or read-only) as a Device.
func OpenFile(path string, readOnly bool) (*FileDevice, error) {
	flag := os.O_RDWR
	if readOnly {
		flag = os.O_RDONLY
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, fmt.Errorf("open metadata device: %w", err)
	}
	return &FileDevice{File: f}, nil
}

// SizeBytes returns the file size, or for a block device the seekable end.
func (d *FileDevice) SizeBytes() (int64, error) {
	st, err := d.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat %s: %w", d.Name(), err)
	}
	if st.Mode().IsRegular() {
		return st.Size(), nil
	}
	end, err := d.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", d.Name(), err)
	}
	return end, nil
}

// NrBlocks returns how many whole metadata blocks dev holds.
func NrBlocks(dev Device) (uint64, error) {
	sz, err := dev.SizeBytes()
	if err != nil {
		return 0, err
	}
	return uint64(sz) / BlockSize, nil
}

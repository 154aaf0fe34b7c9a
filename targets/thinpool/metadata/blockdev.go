package metadata

import (
	"fmt"
	"io"
	"os"
)

// BlockDevice is the storage the metadata lives on: a file or a block device.
// Writes become durable only after Sync returns nil.
type BlockDevice interface {
	io.ReaderAt
	io.WriterAt
	Sync() error
}

// OpenFile opens a metadata file or device read-write (or read-only) and returns it
// with its size in metadata blocks.
func OpenFile(path string, readOnly bool) (*os.File, uint64, error) {
	flag := os.O_RDWR
	if readOnly {
		flag = os.O_RDONLY
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, 0, err
	}
	sizeBytes, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("%s: size: %w", path, err)
	}
	return f, uint64(sizeBytes) / BlockSize, nil
}

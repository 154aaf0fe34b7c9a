package main

import (
	"errors"
	"io"
	"syscall"
)

// cmdWrite is `write NAME [--offset BYTES]`: stdin into the device, then a
// flush, as a buffered write to a block device (partly written 4 KiB pages
// are read and written whole). Writing past the end fails with ENOSPC, as on a
// block device, and writing to a read-only device with EPERM.
func cmdWrite(e *env) error {
	d, err := e.ioDevice("write")
	if err != nil {
		return err
	}
	pos, err := e.opts.bytes("offset", 0)
	if err != nil {
		return err
	}
	size := d.SizeBytes()
	buf := make([]byte, ioChunkBytes)
	for {
		n, rerr := io.ReadFull(e.stdin, buf)
		if n > 0 {
			if pos >= size {
				err := syscall.ENOSPC
				if d.Info().ReadOnly { // blkdev_write_iter checks this first
					err = syscall.EPERM
				}
				return &ioError{op: "write", name: d.Name(), offBytes: pos, err: err}
			}
			k := min(int64(n), size-pos)
			if _, err := d.WriteBuffered(buf[:k], pos); err != nil {
				return &ioError{op: "write", name: d.Name(), offBytes: pos, err: err}
			}
			pos += k
			if k < int64(n) {
				return &ioError{op: "write", name: d.Name(), offBytes: pos, err: syscall.ENOSPC}
			}
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	if err := d.Flush(); err != nil {
		return &ioError{op: "flush", name: d.Name(), offBytes: pos, err: err}
	}
	return nil
}

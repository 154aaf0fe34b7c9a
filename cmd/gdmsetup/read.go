package main

import "syscall"

// ioChunkBytes is how much read and write move per device call.
const ioChunkBytes = 1 << 20

// cmdRead is `read NAME [--offset BYTES] [--length BYTES]`: the device's
// bytes to stdout. Like a read of a block device it stops at the end.
func cmdRead(e *env) error {
	d, err := e.ioDevice("read")
	if err != nil {
		return err
	}
	off, err := e.opts.bytes("offset", 0)
	if err != nil {
		return err
	}
	size := d.SizeBytes()
	length, err := e.opts.bytes("length", max(size-off, 0))
	if err != nil {
		return err
	}
	end := min(off+length, size)
	buf := make([]byte, ioChunkBytes)
	for pos := off; pos < end; {
		n := min(int64(len(buf)), end-pos)
		if _, err := d.ReadAt(buf[:n], pos); err != nil {
			return &ioError{op: "read", name: d.Name(), offBytes: pos, err: err}
		}
		if _, err := e.stdout.Write(buf[:n]); err != nil {
			return &ioError{op: "read", name: d.Name(), offBytes: pos, err: syscall.EPIPE}
		}
		pos += n
	}
	return nil
}

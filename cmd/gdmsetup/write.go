package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"

	"github.com/gdmsetup/gdmsetup/dm"
)

// writeFlags are `write --oflag`'s flags, dd's oflag= words for a block
// device opened with them.
type writeFlags struct {
	// direct is O_DIRECT: each write goes to the device as it is (it must
	// be aligned to the logical block size, else EINVAL), and nothing is
	// flushed at the end.
	direct bool
	// dsync is O_DSYNC: each write is followed by blkdev_fsync's flush;
	// with direct it is also a REQ_FUA write (Linux 6.1's
	// dio_bio_write_op), as `dd oflag=direct,dsync` sends it.
	dsync bool
}

// parseWriteFlags reads --oflag: a comma-separated list of direct and dsync.
func parseWriteFlags(s string) (writeFlags, error) {
	var f writeFlags
	if s == "" {
		return f, nil
	}
	for _, w := range strings.Split(s, ",") {
		switch w {
		case "direct":
			f.direct = true
		case "dsync":
			f.dsync = true
		default:
			return f, usageError(fmt.Sprintf("--oflag %q: %q is not a flag (direct, dsync, comma-separated)", s, w))
		}
	}
	return f, nil
}

// cmdWrite is `write NAME [--offset BYTES] [--oflag direct,dsync] [--bs
// BYTES]`: stdin into the device in writes of --bs bytes (1 MiB without
// it). Without --oflag, as a buffered write to a block device then fsync:
// partly written 4 KiB pages are read and written whole, and one flush
// follows the last write. --oflag takes dd's flags: direct writes each
// block as is (offset and length aligned to the logical block size, else
// EINVAL) with no flush at the end; dsync flushes after each write, which
// with direct is also a FUA write (dd oflag=direct,dsync: the device's
// targets are sent REQ_FUA writes). Empty stdin only flushes. Writing past
// the end fails with ENOSPC, as on a block device, and writing to a
// read-only device with EPERM.
func cmdWrite(e *env) error {
	d, err := e.ioDevice("write")
	if err != nil {
		return err
	}
	pos, err := e.opts.bytes("offset", 0)
	if err != nil {
		return err
	}
	flags, err := parseWriteFlags(e.opts.str("oflag"))
	if err != nil {
		return err
	}
	bs, err := e.opts.bytes("bs", ioChunkBytes)
	if err != nil {
		return err
	}
	if bs <= 0 || bs > 1<<30 {
		return usageError(fmt.Sprintf("--bs %s: a block size from 1 byte to 1G", e.opts.str("bs")))
	}
	write := d.WriteBuffered
	switch {
	case flags.direct && flags.dsync:
		write = d.WriteFUA
	case flags.direct:
		write = d.WriteAt
	}
	flush := func() error {
		if err := d.Flush(); err != nil {
			return &ioError{op: "flush", name: d.Name(), offBytes: pos, err: err}
		}
		return nil
	}
	size := d.SizeBytes()
	buf := make([]byte, bs)
	wrote := false
	for {
		n, rerr := io.ReadFull(e.stdin, buf)
		if n > 0 {
			if err := writeBlock(d, write, flags, buf[:n], pos, size); err != nil {
				return err
			}
			pos += int64(n)
			wrote = true
			if flags.dsync {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	if wrote && (flags.direct || flags.dsync) {
		return nil
	}
	return flush()
}

// writeBlock writes p at pos of d (size bytes) with write, as
// blkdev_write_iter takes one write(2): EPERM on a read-only device, then
// ENOSPC at or past the end, then (direct) EINVAL when not aligned to the
// logical block size; what lies past the end is cut off, and ENOSPC
// follows the part written.
func writeBlock(d *dm.Device, write func([]byte, int64) (int, error), flags writeFlags, p []byte, pos, size int64) error {
	fail := func(at int64, err error) error { return &ioError{op: "write", name: d.Name(), offBytes: at, err: err} }
	if pos >= size {
		if d.Info().ReadOnly { // blkdev_write_iter checks this first
			return fail(pos, syscall.EPERM)
		}
		return fail(pos, syscall.ENOSPC)
	}
	k := min(int64(len(p)), size-pos)
	if bs := d.LogicalBlockBytes(); flags.direct && (pos%bs != 0 || k%bs != 0) {
		return fail(pos, syscall.EINVAL)
	}
	if _, err := write(p[:k], pos); err != nil {
		return fail(pos, err)
	}
	if k < int64(len(p)) {
		return fail(pos+k, syscall.ENOSPC)
	}
	return nil
}

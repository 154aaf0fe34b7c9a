package flakey

import (
	"errors"
	"fmt"
	"slices"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// The bits of a bio's bi_opf here, which corrupt_bio_byte's flags mask is
// matched against ((bi_opf & flags) == flags): the op (REQ_OP_READ,
// REQ_OP_WRITE) and, on a FUA write, REQ_FUA (bit 17 in Linux 6.1's
// include/linux/blk_types.h). The kernel's callers add other request flags
// (an O_DIRECT write carries REQ_SYNC|REQ_IDLE); gdmsetup's targets see
// none. Flushes and discards carry no data, so they are never corrupted.
const (
	opRead  uint32 = 0
	opWrite uint32 = 1
	reqFUA  uint32 = 1 << 17
)

// mapWrite is flakey_map for a bio whose direction is WRITE: writes, and
// flushes, discards and zeroing too. pass reports whether it goes down to
// the device; when it does not, err is nil for a bio ended at once without
// I/O and EIO for a killed one. While down: dropped with drop_writes,
// failed with error_writes, passed down with corrupt_bio_byte (which
// corrupts matching writes), failed without features.
func (f *Flakey) mapWrite(down bool, op string, sector uint64) (pass bool, err error) {
	switch {
	case !down:
		return true, nil
	case f.dropWrites:
		return false, nil
	case f.errorWrites, f.corruptByte == 0:
		return false, f.killed(op, sector)
	}
	return true, nil
}

// corrupts reports whether corrupt_bio_byte applies to a bio whose bi_opf
// is opf (opRead, or opWrite with reqFUA or not) submitted while down.
func (f *Flakey) corrupts(opf uint32) bool {
	return f.corruptByte > 0 && f.corruptWrite == (opf&^reqFUA == opWrite) && opf&f.corruptFlags == f.corruptFlags
}

// corrupt is corrupt_bio_data: the Nth byte of p, when p has that many,
// gets the value.
func (f *Flakey) corrupt(p []byte) {
	if i := uint64(f.corruptByte) - 1; i < uint64(len(p)) {
		p[i] = f.corruptValue
	}
}

func (f *Flakey) byteOffset(sector uint64) int64 {
	return int64(f.offsetSector+sector) * targets.SectorSize
}

// killed is the error of a bio flakey_map kills (an empty flush is at
// sector 0).
func (f *Flakey) killed(op string, sector uint64) error {
	return fmt.Errorf("flakey on %s: %s at sector %d while down: %w", f.dev.Name(), op, sector, syscall.EIO)
}

// ReadAt reads from the device. While down, without features it fails;
// with corrupt_bio_byte in direction r, a matching read is corrupted after
// it is read (flakey_end_io, see corruptRead); with the other features it
// reads as when up.
func (f *Flakey) ReadAt(p []byte, sector uint64) error {
	down := f.down()
	if down && f.corruptByte == 0 && !f.dropWrites && !f.errorWrites {
		return f.killed("read", sector)
	}
	off := f.byteOffset(sector)
	if _, err := f.dev.ReadAt(p, off); err != nil {
		return err
	}
	if down && f.corrupts(opRead) {
		f.corruptRead(p, off)
	}
	return nil
}

// corruptRead is 6.1's corrupt_bio_data on a completed read of p from the
// device at off. It corrupts the bio as its iterator stands at completion:
// a disk has advanced it to the end, leaving nothing to corrupt; a mapped
// device below (targets.Splitter) has trimmed it to the last piece it split
// the read into, whose Nth byte is corrupted. (Later kernels save the
// iterator at map time and corrupt the Nth byte of the whole read.)
func (f *Flakey) corruptRead(p []byte, off int64) {
	s, ok := f.dev.(targets.Splitter)
	if !ok {
		return
	}
	if i := s.LastPieceBytes(off, int64(len(p))) - off; i >= 0 && i < int64(len(p)) {
		f.corrupt(p[i:])
	}
}

// WriteAt writes to the device as mapWrite says; a matching write while
// down is corrupted in a copy (p is the caller's and stays as it is).
func (f *Flakey) WriteAt(p []byte, sector uint64) error { return f.write(p, sector, false) }

// WriteFUA is targets.FUAWriter: flakey_map passes a REQ_FUA write on as
// it is (when down, dropped or errored as any write), and its bi_opf has
// REQ_FUA for corrupt_bio_byte's flags to match.
func (f *Flakey) WriteFUA(p []byte, sector uint64) error { return f.write(p, sector, true) }

// write is WriteAt, or WriteFUA with fua.
func (f *Flakey) write(p []byte, sector uint64, fua bool) error {
	down := f.down()
	if pass, err := f.mapWrite(down, "write", sector); !pass {
		return err
	}
	opf := opWrite
	if fua {
		opf |= reqFUA
	}
	if down && f.corrupts(opf) {
		p = slices.Clone(p)
		f.corrupt(p)
	}
	return targets.DevWrite(f.dev, p, f.byteOffset(sector), fua)
}

// Discard passes the discard down as mapWrite says (num_discard_bios = 1).
func (f *Flakey) Discard(sector, lenSectors uint64) error {
	if pass, err := f.mapWrite(f.down(), "discard", sector); !pass {
		return err
	}
	return f.dev.Discard(f.byteOffset(sector), int64(lenSectors)*targets.SectorSize)
}

// Flush flushes the device as mapWrite says (num_flush_bios = 1: an empty
// flush is a WRITE bio).
func (f *Flakey) Flush() error {
	if pass, err := f.mapWrite(f.down(), "flush", 0); !pass {
		return err
	}
	return f.dev.Flush()
}

// WriteZeroes zeroes as mapWrite says. flakey takes no REQ_OP_WRITE_ZEROES,
// so the kernel zeroes it with writes of the zero page, which
// corrupt_bio_byte leaves alone: the zeros are passed down to the device
// uncorrupted, as zeros written (mayUnmap is not passed on). A device that
// cannot zero a range gives errors.ErrUnsupported: the core then writes
// zeros through WriteAt.
func (f *Flakey) WriteZeroes(sector, lenSectors uint64, _ bool) error {
	if pass, err := f.mapWrite(f.down(), "write zeroes", sector); !pass {
		return err
	}
	z, ok := f.dev.(targets.DevZeroer)
	if !ok {
		return errors.ErrUnsupported
	}
	return z.WriteZeroes(f.byteOffset(sector), int64(lenSectors)*targets.SectorSize, false)
}

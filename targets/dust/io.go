package dust

import (
	"fmt"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// I/O is split into pieces that do not cross a multiple of the block
// size counted from the target's start (dm_set_target_max_io_len); each
// piece is mapped on its own, looked up by its first sector's block of the
// device (offset included). As in the kernel, every piece of an I/O is
// mapped even when one before it is killed, and the I/O fails with EIO if
// any was.

// pieces calls fn for each piece of [sector, sector+lenSectors) of the
// target: its sector and length.
func (d *Dust) pieces(sector, lenSectors uint64, fn func(sector, lenSectors uint64)) {
	for lenSectors > 0 {
		k := min(lenSectors, d.blockSectors()-sector&(d.blockSectors()-1))
		fn(sector, k)
		sector, lenSectors = sector+k, lenSectors-k
	}
}

func (d *Dust) byteOffset(sector uint64) int64 {
	return int64(d.offsetSector+sector) * targets.SectorSize
}

// killed is the error of an I/O with a piece dust_map killed.
func (d *Dust) killed(op string, sector uint64) error {
	return fmt.Errorf("dust on %s: %s at sector %d: bad block: %w", d.dev.Name(), op, sector, syscall.EIO)
}

// ReadAt reads from the device unless a piece falls on a bad block while
// read failures are enabled.
func (d *Dust) ReadAt(p []byte, sector uint64) error {
	var bad bool
	d.pieces(sector, uint64(len(p))/targets.SectorSize, func(s, _ uint64) {
		bad = d.readFails(d.offsetSector+s) || bad
	})
	if bad {
		return d.killed("read", sector)
	}
	_, err := d.dev.ReadAt(p, d.byteOffset(sector))
	return err
}

// WriteAt writes each piece that dust_map_write lets through.
func (d *Dust) WriteAt(p []byte, sector uint64) error { return d.write(p, sector, false) }

// WriteFUA is targets.FUAWriter: dust_map remaps each piece of a REQ_FUA
// write with its flags, so each piece dust_map_write lets through is a FUA
// write to the device.
func (d *Dust) WriteFUA(p []byte, sector uint64) error { return d.write(p, sector, true) }

// write is WriteAt, or WriteFUA with fua.
func (d *Dust) write(p []byte, sector uint64, fua bool) error {
	var first error
	d.pieces(sector, uint64(len(p))/targets.SectorSize, func(s, n uint64) {
		var err error
		if d.writeFails(d.offsetSector + s) {
			err = d.killed("write", s)
		} else {
			done := (s - sector) * targets.SectorSize
			err = targets.DevWrite(d.dev, p[done:done+n*targets.SectorSize], d.byteOffset(s), fua)
		}
		if first == nil {
			first = err
		}
	})
	return first
}

// Discard passes the discard down whole (the kernel sends one bio per
// target), unless dust_map_write kills it at its first sector.
func (d *Dust) Discard(sector, lenSectors uint64) error {
	if d.writeFails(d.offsetSector + sector) {
		return d.killed("discard", sector)
	}
	return d.dev.Discard(d.byteOffset(sector), int64(lenSectors)*targets.SectorSize)
}

// Flush flushes the device unless dust_map_write kills it. An empty flush
// is mapped from sector 0 of the table: offset - begin of the device,
// wrapping at 64 bits for a line that does not start the table (a block
// never listed, as the kernel's sector_t arithmetic gives).
func (d *Dust) Flush() error {
	if d.writeFails(d.offsetSector - d.beginSector) {
		return fmt.Errorf("dust on %s: flush: bad block: %w", d.dev.Name(), syscall.EIO)
	}
	return d.dev.Flush()
}

package ebs

import (
	"cmp"
	"fmt"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// I/O whose start and end on the device are multiples of the underlying
// block size goes straight to the device (ebs_map remaps it). Other I/O
// goes the way of the kernel's worker and dm-bufio: the underlying blocks
// it covers are read (for a write, only those it covers in part), patched
// and written back whole before the I/O completes. gdmsetup keeps no
// cache of them: each such I/O reads the device afresh.

// span is the run of underlying blocks that [devSector, devSector+n)
// covers, in device sectors.
func (e *Ebs) span(devSector, lenSectors uint64) (startSector, endSector uint64) {
	u := e.underlyingSectors
	return devSector / u * u, (devSector + lenSectors + u - 1) / u * u
}

func (e *Ebs) aligned(devSector, lenSectors uint64) bool {
	return devSector%e.underlyingSectors == 0 && lenSectors%e.underlyingSectors == 0
}

// readBlocks reads p, whole underlying blocks at devSector. A block the
// device does not hold entirely fails (EIO), as a dm-bufio read past the
// end of the device does.
func (e *Ebs) readBlocks(p []byte, devSector uint64) error {
	off := int64(devSector) * targets.SectorSize
	if end := off + int64(len(p)); end > e.dev.SizeBytes() {
		return fmt.Errorf("ebs on %s: underlying block at sector %d ends beyond the device (%d bytes): %w",
			e.dev.Name(), devSector, e.dev.SizeBytes(), syscall.EIO)
	}
	_, err := e.dev.ReadAt(p, off)
	return err
}

// ReadAt reads from the device, through the underlying blocks it covers
// when it is not aligned to them.
func (e *Ebs) ReadAt(p []byte, sector uint64) error {
	devSector, n := e.offsetSector+sector, uint64(len(p))/targets.SectorSize
	if e.aligned(devSector, n) {
		_, err := e.dev.ReadAt(p, int64(devSector)*targets.SectorSize)
		return err
	}
	start, end := e.span(devSector, n)
	buf := make([]byte, (end-start)*targets.SectorSize)
	if err := e.readBlocks(buf, start); err != nil {
		return err
	}
	copy(p, buf[(devSector-start)*targets.SectorSize:])
	return nil
}

// WriteAt writes to the device; a write not aligned to the underlying
// blocks reads the first and last of them it covers in part, patches them
// and writes every block it covers. As the kernel's worker, it carries on
// past a block it cannot read (that block is left as it is) and fails.
func (e *Ebs) WriteAt(p []byte, sector uint64) error {
	devSector, n := e.offsetSector+sector, uint64(len(p))/targets.SectorSize
	if e.aligned(devSector, n) {
		_, err := e.dev.WriteAt(p, int64(devSector)*targets.SectorSize)
		return err
	}
	e.rmw.Lock()
	defer e.rmw.Unlock()
	start, end := e.span(devSector, n)
	blockBytes := e.underlyingSectors * targets.SectorSize
	buf := make([]byte, (end-start)*targets.SectorSize)
	first, last := uint64(0), uint64(len(buf))-blockBytes // byte offsets of the end blocks in buf
	// the part of buf to write back: the end blocks drop out if unread
	from, to := uint64(0), uint64(len(buf))
	var readErr error
	if devSector%e.underlyingSectors != 0 || n < e.underlyingSectors {
		if readErr = e.readBlocks(buf[first:first+blockBytes], start); readErr != nil {
			from = blockBytes
		}
	}
	if last != first && (devSector+n)%e.underlyingSectors != 0 {
		if err := e.readBlocks(buf[last:], end-e.underlyingSectors); err != nil {
			to = last
			readErr = cmp.Or(readErr, err)
		}
	}
	copy(buf[(devSector-start)*targets.SectorSize:], p)
	if from < to {
		if _, err := e.dev.WriteAt(buf[from:to], int64(start)*targets.SectorSize+int64(from)); err != nil {
			return err
		}
	}
	return readErr
}

// WriteFUA is targets.FUAWriter, as Linux 6.1 does it: ebs_map remaps a
// write aligned to the underlying blocks with its flags, a FUA write to the
// device, unless e_bs equals u_bs. Every other write goes to the worker,
// where dm-bufio patches its buffers and dm_bufio_write_dirty_buffers
// writes them before the bio completes: plain writes, no REQ_FUA and no
// flush. Such a FUA write is the plain write WriteAt does.
func (e *Ebs) WriteFUA(p []byte, sector uint64) error {
	devSector, n := e.offsetSector+sector, uint64(len(p))/targets.SectorSize
	if e.aligned(devSector, n) && e.emulatedSectors != e.underlyingSectors {
		return targets.DevWriteFUA(e.dev, p, int64(devSector)*targets.SectorSize)
	}
	return e.WriteAt(p, sector)
}

// Discard discards the underlying blocks the range covers whole; blocks
// it covers in part keep their data.
func (e *Ebs) Discard(sector, lenSectors uint64) error {
	u := e.underlyingSectors
	devSector := e.offsetSector + sector
	first, last := (devSector+u-1)/u*u, (devSector+lenSectors)/u*u
	if last <= first {
		return nil
	}
	return e.dev.Discard(int64(first)*targets.SectorSize, int64(last-first)*targets.SectorSize)
}

// Flush flushes the device.
func (e *Ebs) Flush() error { return e.dev.Flush() }

// Package linear is the linear target: `<dev> <offset>` maps the target's
// sectors one to one onto dev from offset on (drivers/md/dm-linear.c).
package linear

import (
	"errors"
	"fmt"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Type is the linear target's registration.
var Type = targets.Type{Name: "linear", Version: [3]int{1, 4, 0}, New: New}

// Linear maps onto one device; it holds no mutable state.
type Linear struct {
	dev          targets.Dev
	offsetSector uint64
	lenSectors   uint64
}

// New is linear's constructor.
func New(ctx *targets.Context, args []string) (targets.Target, error) {
	if len(args) != 2 {
		return nil, targets.Invalid("Invalid argument count")
	}
	off, ok := targets.ScanUint(args[1], 64)
	if !ok {
		return nil, targets.Invalid("Invalid device sector")
	}
	dev, err := ctx.Open(args[0])
	if err != nil {
		return nil, targets.Errorf(targets.OpenErrno(err), "Device lookup failed")
	}
	return &Linear{dev: dev, offsetSector: off, lenSectors: ctx.Len}, nil
}

func (l *Linear) byteOffset(sector uint64) int64 {
	return int64(l.offsetSector+sector) * targets.SectorSize
}

// ReadAt reads from the underlying device.
func (l *Linear) ReadAt(p []byte, sector uint64) error {
	_, err := l.dev.ReadAt(p, l.byteOffset(sector))
	return err
}

// WriteAt writes to the underlying device.
func (l *Linear) WriteAt(p []byte, sector uint64) error {
	_, err := l.dev.WriteAt(p, l.byteOffset(sector))
	return err
}

// WriteFUA is targets.FUAWriter: linear_map keeps the bio's REQ_FUA, so
// the write goes down to the device as a FUA write.
func (l *Linear) WriteFUA(p []byte, sector uint64) error {
	return targets.DevWriteFUA(l.dev, p, l.byteOffset(sector))
}

// Discard passes the discard down.
func (l *Linear) Discard(sector, lenSectors uint64) error {
	return l.dev.Discard(l.byteOffset(sector), int64(lenSectors)*targets.SectorSize)
}

// WriteZeroes passes the zeroing down when the device can zero a range
// itself (a file: fallocate); otherwise errors.ErrUnsupported.
func (l *Linear) WriteZeroes(sector, lenSectors uint64, mayUnmap bool) error {
	z, ok := l.dev.(targets.DevZeroer)
	if !ok {
		return errors.ErrUnsupported
	}
	return z.WriteZeroes(l.byteOffset(sector), int64(lenSectors)*targets.SectorSize, mayUnmap)
}

// Flush flushes the underlying device.
func (l *Linear) Flush() error { return l.dev.Flush() }

// FlushFUA is targets.FUAFlusher: linear_map leaves an empty bio's sector
// as it is, so the device gets the flush with the write's sector.
func (l *Linear) FlushFUA(sector uint64) error {
	return targets.DevFlushFUA(l.dev, int64(sector)*targets.SectorSize)
}

// Status is empty, as the kernel's.
func (l *Linear) Status() string { return "" }

// Table is "<dev> <offset>".
func (l *Linear) Table() string { return fmt.Sprintf("%s %d", l.dev.Name(), l.offsetSector) }

// Areas is the one range of the device it uses.
func (l *Linear) Areas() []targets.Area {
	return []targets.Area{{Dev: l.dev, StartSector: l.offsetSector, LenSectors: l.lenSectors}}
}

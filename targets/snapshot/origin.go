package snapshot

import (
	"fmt"
	"syscall"

	"github.com/gdmsetup/gdmsetup/errno"
	"github.com/gdmsetup/gdmsetup/targets"
)

// OriginType is the snapshot-origin target's registration.
var OriginType = targets.Type{Name: "snapshot-origin", Version: [3]int{1, 9, 0}, New: NewOrigin}

// Origin is a snapshot-origin line (struct dm_origin): the device mapped
// as it is (sector for sector, the line's start included, as origin_map
// leaves the bio's sector alone), each write first copying the chunks it
// covers into every snapshot of the device. It holds no state of its own.
type Origin struct {
	dev                      targets.Dev
	beginSectors, lenSectors uint64
}

// NewOrigin is origin_ctr. It then brings every snapshot of the device
// into this process (targets.Context.ActivateUsers): in the kernel they
// all stand built, and a write through the origin must copy into each.
func NewOrigin(ctx *targets.Context, args []string) (targets.Target, error) {
	if len(args) != 1 {
		return nil, targets.Invalid("origin: incorrect number of arguments")
	}
	dev, err := ctx.Open(args[0])
	if err != nil {
		return nil, targets.Errorf(targets.OpenErrno(err), "Cannot get target device")
	}
	if ctx.ActivateUsers != nil {
		if err := ctx.ActivateUsers(dev); err != nil {
			return nil, targets.Errorf(errno.Of(err), "Cannot build the snapshots of %s in this process: %v", dev.Name(), err)
		}
	}
	return &Origin{dev: dev, beginSectors: ctx.Begin, lenSectors: ctx.Len}, nil
}

// Status is empty.
func (o *Origin) Status() string { return "" }

// Table is the device.
func (o *Origin) Table() string { return o.dev.Name() }

// Areas is the device from sector 0 for the line's length.
func (o *Origin) Areas() []targets.Area {
	return []targets.Area{{Dev: o.dev, StartSector: 0, LenSectors: o.lenSectors}}
}

// SupportsDiscards is false: the origin sets no discard bios.
func (o *Origin) SupportsDiscards() bool { return false }

// ReadAt reads the device.
func (o *Origin) ReadAt(p []byte, sector uint64) error {
	_, err := o.dev.ReadAt(p, int64(o.beginSectors+sector)*targets.SectorSize)
	return err
}

// WriteAt is origin_map and do_origin: before the write lands, each
// snapshot of the device gets the chunks it covers copied, committed
// together as the kernel commits the exceptions of one write's pieces.
//
// The kernel cuts the write at the smallest chunk size of the snapshots
// it knew when the origin was resumed and copies the chunk where each
// piece starts; gdmsetup copies every chunk the write covers, so a
// snapshot made later with smaller chunks is never written across a
// chunk it has not copied.
func (o *Origin) WriteAt(p []byte, sector uint64) error {
	return writeOrigin(o.dev, o.beginSectors+sector, p, false)
}

// WriteFUA is targets.FUAWriter: origin_map passes a REQ_FUA write on as
// it is once do_origin's exceptions are committed, a FUA write to the
// device (the copies before it are plain writes, each commit a flush and
// the area written with FUA).
func (o *Origin) WriteFUA(p []byte, sector uint64) error {
	return writeOrigin(o.dev, o.beginSectors+sector, p, true)
}

// writeOrigin is do_origin and the write: every snapshot of dev but a
// merging one gets the chunks [sector, sector+len(p)) covers copied, then
// p is written at sector (with FUA when fua).
func writeOrigin(dev targets.Dev, sector uint64, p []byte, fua bool) error {
	copyIntoSnapshots(dev.Name(), sector, uint64(len(p))/targets.SectorSize)
	return targets.DevWrite(dev, p, int64(sector)*targets.SectorSize, fua)
}

// copyIntoSnapshots makes the exceptions an origin write of lenSectors
// from sector needs in every snapshot of the origin named key but the
// merging ones.
func copyIntoSnapshots(key string, sector, lenSectors uint64) {
	origins.RLock()
	var snaps []*Snapshot
	for _, s := range origins.byDev[key] {
		if !s.merge {
			s.inflight.Add(1)
			snaps = append(snaps, s)
		}
	}
	origins.RUnlock()
	for _, s := range snaps {
		s.originWrite(sector, lenSectors)
		s.inflight.Done()
	}
}

// Discard is refused: the origin takes none (the core checks first).
func (o *Origin) Discard(sector, lenSectors uint64) error {
	return fmt.Errorf("snapshot-origin: discard %d+%d: %w", sector, lenSectors, syscall.EOPNOTSUPP)
}

// Flush flushes the device.
func (o *Origin) Flush() error { return o.dev.Flush() }

package dm

import (
	"fmt"

	"github.com/gdmsetup/gdmsetup/targets"
)

// mapped is a mapped device used as an underlying device of another table
// (stacking): the kernel names it 253:MINOR in tables, dm-MINOR in its log.
type mapped struct {
	d *Device
}

func (m *mapped) Name() string     { return m.d.devName() }
func (m *mapped) DiskName() string { return fmt.Sprintf("dm-%d", m.d.st.Minor) }
func (m *mapped) SizeBytes() int64 { return m.d.SizeBytes() }
func (m *mapped) Flush() error     { return m.d.Flush() }

func (m *mapped) ReadAt(p []byte, off int64) (int, error)  { return m.d.ReadAt(p, off) }
func (m *mapped) WriteAt(p []byte, off int64) (int, error) { return m.d.WriteAt(p, off) }
func (m *mapped) Discard(off, length int64) error          { return m.d.Discard(off, length) }

// WriteFUA is targets.DevFUAWriter: the FUA write goes down to the targets
// of the device's table it touches, as a REQ_FUA bio does (Device.WriteFUA).
func (m *mapped) WriteFUA(p []byte, off int64) error {
	_, err := m.d.WriteFUA(p, off)
	return err
}

// FlushFUA is targets.DevFUAFlusher (Device.FlushFUA).
func (m *mapped) FlushFUA(off int64) error { return m.d.FlushFUA(off) }

func (m *mapped) WriteZeroes(off, length int64, mayUnmap bool) error {
	return m.d.WriteZeroes(off, length, mayUnmap)
}

// SupportsDiscards is the live table's discard support (none without one).
func (m *mapped) SupportsDiscards() bool {
	t := m.d.current()
	return t != nil && t.discards
}

// MayWait is targets.Waiter: whether the device's I/O may wait (see Device.MayWait).
func (m *mapped) MayWait() bool { return m.d.MayWait() }

// OptimalIOBytes passes the device's stacked io_opt on to a table above it.
func (m *mapped) OptimalIOBytes() int64 {
	t := m.d.current()
	if t == nil {
		return 0
	}
	return t.optimalIOBytes()
}

// LastPieceBytes is targets.Splitter: where the last piece starts of an
// I/O of [off, off+length) split by the live table as rw splits it (at
// target boundaries and MaxIOSectors); off when there is no table or the
// range is not one the device takes.
func (m *mapped) LastPieceBytes(off, length int64) int64 {
	t := m.d.current()
	if t == nil || length <= 0 || !aligned(off, length) || t.checkRange(off, length) != nil {
		return off
	}
	sector := uint64(off) / targets.SectorSize
	last := sector
	t.split(sector, uint64(length)/targets.SectorSize, true, func(_ *entry, _, _, done uint64) error {
		last = sector + done
		return nil
	})
	return int64(last) * targets.SectorSize
}

// LogicalBlockBytes passes the device's logical block size on to a table
// above it.
func (m *mapped) LogicalBlockBytes() int64 { return m.d.LogicalBlockBytes() }

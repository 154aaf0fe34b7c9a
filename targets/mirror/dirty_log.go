package mirror

import (
	"fmt"
	"math/bits"

	"github.com/gdmsetup/gdmsetup/targets"
)

// syncMode is the log's resync flag (dm-log.c's enum sync).
type syncMode int

const (
	defaultSync syncMode = iota // recover what the log says is out of sync
	noSync                      // `nosync`: every region is in sync
	forceSync                   // `sync`: every region is recovered
)

// dirtyLog is dm-log.c's log_c, for both log types: per region a clean
// bit (no write in flight since the region was last known in sync: the
// bits a disk log keeps on its device), a sync bit (the legs hold the same
// data) and a recovering bit. As in the kernel, setting a bit of any of
// the three sets touchedCleaned and clearing one sets touchedDirtied; a
// disk log writes itself out at flush only when one of them is set.
//
// Concurrency: a dirtyLog has no lock of its own; its Mirror's mu guards it.
type dirtyLog struct {
	disk          bool
	regionSectors uint32
	regionCount   uint64
	sync          syncMode
	bitsetBytes   int // the bitsets' size: regionCount rounded up to 64 bits

	clean, syncBits, recovering []byte
	syncCount                   uint64
	syncSearch                  uint64

	touchedCleaned, touchedDirtied, flushFailed bool

	// a disk log's device, its state, and its on-disk image (header, then
	// the clean bits at logOffsetBytes: clean aliases part of buf)
	dev                     targets.Dev
	devFailed, devFlushFail bool
	buf                     []byte
}

// logPrefix is how dm-log.c's warnings start (its DM_MSG_PREFIX).
const logPrefix = "dirty region log: "

// newDirtyLog is dm_dirty_log_create with core_ctr or disk_ctr: typ and
// its arguments as the table gives them. Each failure is logged in the
// kernel's words; the constructor then fails with "Error creating mirror
// dirty log", as mirror_ctr does whatever the reason.
func newDirtyLog(ctx *targets.Context, typ string, args []string) (*dirtyLog, error) {
	logf := func(format string, a ...any) { ctx.Logf(logPrefix+format, a...) }
	switch typ {
	case "core":
		return newLogContext(ctx, logf, args, nil)
	case "disk":
		if len(args) < 2 || len(args) > 3 {
			logf("wrong number of arguments to disk dirty region log")
			return nil, errLogCreate
		}
		dev, err := ctx.Open(args[0])
		if err != nil {
			return nil, errLogCreate
		}
		return newLogContext(ctx, logf, args[1:], dev)
	}
	logf("Module for logging type \"%s\" not found.", typ)
	return nil, errLogCreate
}

var errLogCreate = targets.Invalid("Error creating mirror dirty log")

// newLogContext is create_log_context: region_size [sync|nosync], the
// sync word checked before the size; a disk log's device must hold its
// header and bitset (logOffsetBytes + the bitset, rounded up to a sector).
func newLogContext(ctx *targets.Context, logf func(string, ...any), args []string, dev targets.Dev) (*dirtyLog, error) {
	if len(args) < 1 || len(args) > 2 {
		logf("wrong number of arguments to dirty region log")
		return nil, errLogCreate
	}
	l := &dirtyLog{sync: defaultSync, disk: dev != nil, dev: dev}
	if len(args) > 1 {
		switch args[1] {
		case "sync":
			l.sync = forceSync
		case "nosync":
			l.sync = noSync
		default:
			logf("unrecognised sync argument to dirty region log: %s", args[1])
			return nil, errLogCreate
		}
	}
	size, ok := targets.ScanUint(args[0], 32)
	if !ok || size < 2 || size > ctx.Len || size&(size-1) != 0 {
		logf("invalid region size %s", args[0])
		return nil, errLogCreate
	}
	l.regionSectors = uint32(size)
	l.regionCount = (ctx.Len + size - 1) / size
	if l.regionCount > 1<<32-1 {
		logf("region count exceeds limit of %d", uint32(1<<32-1))
		return nil, errLogCreate
	}
	l.bitsetBytes = int((l.regionCount + 63) / 64 * 8)
	if dev != nil {
		bufBytes := (logOffsetBytes + int64(l.bitsetBytes) + targets.SectorSize - 1) / targets.SectorSize * targets.SectorSize
		if bufBytes > dev.SizeBytes() {
			logf("log device %s too small: need %d bytes", dev.Name(), bufBytes)
			return nil, errLogCreate
		}
		l.buf = make([]byte, bufBytes)
		l.clean = l.buf[logOffsetBytes : logOffsetBytes+int64(l.bitsetBytes)]
	} else {
		l.clean = make([]byte, l.bitsetBytes)
	}
	fill(l.clean, 0xff)
	l.syncBits = make([]byte, l.bitsetBytes)
	if l.sync == noSync {
		fill(l.syncBits, 0xff)
		l.syncCount = l.regionCount
	}
	l.recovering = make([]byte, l.bitsetBytes)
	return l, nil
}

func fill(b []byte, v byte) {
	for i := range b {
		b[i] = v
	}
}

// countBits is memweight: the bits set in bs.
func countBits(bs []byte) uint64 {
	var n uint64
	for _, b := range bs {
		n += uint64(bits.OnesCount8(b))
	}
	return n
}

// testBit is test_bit_le: bit i of a little-endian bitset.
func testBit(bs []byte, i uint64) bool { return bs[i/8]&(1<<(i%8)) != 0 }

func (l *dirtyLog) setBit(bs []byte, i uint64) {
	bs[i/8] |= 1 << (i % 8)
	l.touchedCleaned = true
}

func (l *dirtyLog) clearBit(bs []byte, i uint64) {
	bs[i/8] &^= 1 << (i % 8)
	l.touchedDirtied = true
}

// inSync is core_in_sync: the region's sync bit.
func (l *dirtyLog) inSync(region uint64) bool { return testBit(l.syncBits, region) }

// mark is core_mark_region: a write is coming, the region is not clean.
func (l *dirtyLog) mark(region uint64) { l.clearBit(l.clean, region) }

// clear is core_clear_region: the region is clean again (unless a flush
// of the legs failed: then nothing is known clean until the next resume).
func (l *dirtyLog) clear(region uint64) {
	if !l.flushFailed {
		l.setBit(l.clean, region)
	}
}

// resyncWork is core_get_resync_work: the next region out of sync and not
// being recovered, from where the last search stopped; the search starts
// over only at resume.
func (l *dirtyLog) resyncWork() (uint64, bool) {
	for l.syncSearch < l.regionCount {
		r := l.nextZero(l.syncSearch)
		l.syncSearch = r + 1
		if r >= l.regionCount {
			return 0, false
		}
		if !testBit(l.recovering, r) {
			l.setBit(l.recovering, r)
			return r, true
		}
	}
	return 0, false
}

// nextZero is the first region from r on whose sync bit is clear
// (regionCount when none is).
func (l *dirtyLog) nextZero(r uint64) uint64 {
	for ; r < l.regionCount; r++ {
		if r%8 == 0 && l.syncBits[r/8] == 0xff {
			r += 7
			continue
		}
		if !testBit(l.syncBits, r) {
			return r
		}
	}
	return l.regionCount
}

// setRegionSync is core_set_region_sync: recovery of region ended, in
// sync or not.
func (l *dirtyLog) setRegionSync(region uint64, inSync bool) {
	l.clearBit(l.recovering, region)
	if inSync {
		l.setBit(l.syncBits, region)
		l.syncCount++
	} else if testBit(l.syncBits, region) {
		l.syncCount--
		l.clearBit(l.syncBits, region)
	}
}

// resume is core_resume or disk_resume. A disk log reads its device: a
// log of another kind (no magic) or one told sync/nosync starts over, its
// regions beyond the header's count are set (nosync) or cleared, the bits
// past the last region up to a 64-bit boundary cleared; the sync bits
// become the clean bits and the header is written back with this log's
// region count, then flushed. A failure marks the log device failed.
func (l *dirtyLog) resume(logf func(string, ...any), event func()) error {
	l.syncSearch = 0
	if !l.disk {
		return nil
	}
	h, err := l.readHeader(logf)
	if err != nil {
		logf(logPrefix+"%s: Failed to read header on dirty region log device", l.dev.Name())
		l.failDevice(event)
		h.nrRegions = 0
	}
	for i := h.nrRegions; i < l.regionCount; i++ {
		if l.sync == noSync {
			l.setBit(l.clean, i)
		} else {
			l.clearBit(l.clean, i)
		}
	}
	for i := l.regionCount; i%64 != 0; i++ {
		l.clearBit(l.clean, i)
	}
	copy(l.syncBits, l.clean)
	l.syncCount = countBits(l.clean)
	h.nrRegions = l.regionCount
	h.put(l.buf)
	err = l.writeBuf()
	if err == nil {
		if err = l.dev.Flush(); err != nil {
			l.devFlushFail = true
		}
	}
	if err != nil {
		logf(logPrefix+"%s: Failed to write header on dirty region log device", l.dev.Name())
		l.failDevice(event)
	}
	return err
}

// failDevice is fail_log_device: the first failure raises an event.
func (l *dirtyLog) failDevice(event func()) {
	if l.devFailed {
		return
	}
	l.devFailed = true
	event()
}

// flush is core_flush (nothing) or disk_flush: when a bit changed, the
// legs are flushed first if a region became clean (flushLegs; if that
// fails every region is marked dirty), then the header and bitset are
// written, and flushed when a region became dirty.
func (l *dirtyLog) flush(flushLegs func() error, event func()) error {
	if !l.disk || !l.touchedCleaned && !l.touchedDirtied {
		return nil
	}
	if l.touchedCleaned && flushLegs() != nil {
		l.flushFailed = true
		for i := uint64(0); i < l.regionCount; i++ {
			l.clearBit(l.clean, i)
		}
	}
	if err := l.writeBuf(); err != nil {
		l.failDevice(event)
		return err
	}
	if l.touchedDirtied {
		if err := l.dev.Flush(); err != nil {
			l.devFlushFail = true
			l.failDevice(event)
			return err
		}
		l.touchedDirtied = false
	}
	l.touchedCleaned = false
	return nil
}

// status is core_status or disk_status, STATUSTYPE_INFO: `1 core` or
// `3 disk <dev> <A|D|F>`.
func (l *dirtyLog) status() string {
	if !l.disk {
		return "1 core"
	}
	health := 'A'
	if l.devFlushFail {
		health = 'F'
	} else if l.devFailed {
		health = 'D'
	}
	return fmt.Sprintf("3 disk %s %c", l.dev.Name(), health)
}

// table is the STATUSTYPE_TABLE form: type, argument count, [device,]
// region size, then `sync ` or `nosync ` when given (with its space).
func (l *dirtyLog) table() string {
	n := 1
	if l.sync != defaultSync {
		n++
	}
	var s string
	if l.disk {
		s = fmt.Sprintf("disk %d %s %d ", n+1, l.dev.Name(), l.regionSectors)
	} else {
		s = fmt.Sprintf("core %d %d ", n, l.regionSectors)
	}
	switch l.sync {
	case noSync:
		s += "nosync "
	case forceSync:
		s += "sync "
	}
	return s
}

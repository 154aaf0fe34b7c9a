package integrity

import (
	"syscall"
	"time"

	"github.com/gdmsetup/gdmsetup/targets"
)

// bitmapBlockBytes is BITMAP_BLOCK_SIZE: the bitmap is written a block at
// a time.
const bitmapBlockBytes = 4096

// bitset is a bitmap of regions of 2^shift sectors, bit b in byte b/8 at
// b%8 (the kernel's little-endian unsigned longs).
type bitset struct {
	b     []byte
	shift uint
}

// bitRange is the bits a range of sectors touches.
func (s bitset) bitRange(sector, n uint64) (uint64, uint64) {
	return sector >> s.shift, (sector + n - 1) >> s.shift
}

func (s bitset) op(sector, n uint64, f func(i uint64) bool) bool {
	if n == 0 {
		return true
	}
	lo, hi := s.bitRange(sector, n)
	for i := lo; i <= hi; i++ {
		if !f(i) {
			return false
		}
	}
	return true
}

func (s bitset) test(i uint64) bool { return s.b[i/8]&(1<<(i%8)) != 0 }

// allSet and allClear are BITMAP_OP_TEST_ALL_SET and _CLEAR.
func (s bitset) allSet(sector, n uint64) bool { return s.op(sector, n, s.test) }
func (s bitset) allClear(sector, n uint64) bool {
	return s.op(sector, n, func(i uint64) bool { return !s.test(i) })
}

// set and clearRange are BITMAP_OP_SET and _CLEAR.
func (s bitset) set(sector, n uint64) {
	s.op(sector, n, func(i uint64) bool { s.b[i/8] |= 1 << (i % 8); return true })
}
func (s bitset) clearRange(sector, n uint64) {
	s.op(sector, n, func(i uint64) bool { s.b[i/8] &^= 1 << (i % 8); return true })
}
func (s bitset) copyFrom(o bitset) { copy(s.b, o.b) }

// bitmaps is mode B's state: disk is the bitmap as on the device (it is
// the journal area's memory, as in the kernel), mayWrite the regions
// whose dirty bit is on the device already, recalc the regions whose
// tags are being recalculated. Guarded by Integrity.mu.
type bitmaps struct {
	x                      *Integrity
	log2BlocksPerBit       uint
	nBlocks                uint64 // bitmap blocks
	disk, mayWrite, recalc bitset
	flushTimer             *time.Timer
}

func newBitmaps(x *Integrity, log2BlocksPerBit uint) *bitmaps {
	g := &x.geo
	shift := g.log2Block + log2BlocksPerBit
	nBits := ((g.provided >> g.log2Block) + 1<<log2BlocksPerBit - 1) >> log2BlocksPerBit
	b := &bitmaps{x: x, log2BlocksPerBit: log2BlocksPerBit, nBlocks: (nBits + bitmapBlockBytes*8 - 1) / (bitmapBlockBytes * 8)}
	size := b.nBlocks * bitmapBlockBytes
	b.disk = bitset{x.j.buf[:size], shift}
	b.mayWrite = bitset{make([]byte, size), shift}
	b.recalc = bitset{make([]byte, size), shift}
	return b
}

// readDisk and writeDisk move the bitmap blocks between the journal area
// and memory (rw_journal_sectors of the bitmap's sectors).
func (b *bitmaps) readDisk() {
	x := b.x
	if _, err := x.metaDev.ReadAt(b.disk.b, int64(x.geo.journalSectorOnDisk(0))*512); err != nil {
		x.ioError("reading journal", syscall.EIO)
	}
}

func (b *bitmaps) writeDisk() { b.writeBlocks(0, b.nBlocks) }

func (b *bitmaps) writeBlocks(first, n uint64) {
	x := b.x
	if x.failed != 0 {
		return
	}
	lo, hi := first*bitmapBlockBytes, (first+n)*bitmapBlockBytes
	if err := targets.DevWriteFUA(x.metaDev, b.disk.b[lo:hi], int64(x.geo.journalSectorOnDisk(lo/512))*512); err != nil {
		x.ioError("writing journal", syscall.EIO)
	}
}

// markDirty is a write's or discard's wait in bitmap_block_work: unless
// the range's dirty bits are on the device already, they are set and
// their bitmap block written before the I/O goes on.
func (b *bitmaps) markDirty(sector, n uint64) {
	if b.mayWrite.allSet(sector, n) {
		return
	}
	b.disk.set(sector, n)
	block := (sector >> b.disk.shift) / (bitmapBlockBytes * 8)
	b.writeBlocks(block, 1)
	b.mayWrite.set(sector, n)
	b.scheduleFlush()
}

// scheduleFlush arms bitmap_flush_work for bitmap_flush_interval.
func (b *bitmaps) scheduleFlush() {
	if b.flushTimer != nil || b.x.suspended {
		return
	}
	x := b.x
	b.flushTimer = time.AfterFunc(time.Duration(x.cfg.bitmapFlushMs)*time.Millisecond, func() {
		x.mu.Lock()
		defer x.mu.Unlock()
		if b.flushTimer == nil {
			return
		}
		b.flushTimer = nil
		b.flush()
	})
}

func (b *bitmaps) stopFlush() {
	if b.flushTimer != nil {
		b.flushTimer.Stop()
		b.flushTimer = nil
	}
}

// flush is bitmap_flush_work: with the device's I/O ended (its whole
// range locked) and the tags on the device, the dirty bits are cleared
// (below the recalculation's position) and written. A flush that waited
// for the I/O while the device was suspended does nothing: the suspend
// has written the bitmap (the kernel's postsuspend cancels the work).
func (b *bitmaps) flush() {
	x := b.x
	r := x.ranges.lock(0, x.geo.provided, rangeIO)
	defer x.ranges.unlock(r)
	if x.suspended {
		return
	}
	x.flushBuffers(true)
	limit := x.geo.provided
	if x.sb.has(flagRecalculating) {
		limit = x.sb.recalcSector() >> b.disk.shift << b.disk.shift
	}
	b.disk.clearRange(0, limit)
	b.mayWrite.clearRange(0, limit)
	b.writeDisk()
}

// start is the resume of mode B over a clean bitmap: the superblock marks
// the bitmap dirty, and the regions still to recalculate are dirty.
func (b *bitmaps) start() {
	x := b.x
	p := x.geo.provided
	x.sb.setFlag(flagDirtyBitmap, true)
	x.sb[offLog2BitmapBit] = uint8(b.log2BlocksPerBit)
	x.syncSuperblock()
	for _, s := range []bitset{b.disk, b.recalc, b.mayWrite} {
		s.clearRange(0, p)
		if x.sb.has(flagRecalculating) && x.sb.recalcSector() < p {
			s.set(x.sb.recalcSector(), p-x.sb.recalcSector())
		}
	}
	b.writeDisk()
}

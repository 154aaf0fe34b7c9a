// Package writecache is the dm-writecache target in SSD mode
// (drivers/md/dm-writecache.c, v1.6.0): writes land in blocks of a cache
// device and are written back to the origin in the background, above a
// high watermark of used blocks down to a low one, on the flush message,
// with the cleaner, or on suspend when asked. The cache device holds the
// kernel's own metadata (a superblock and one entry per block giving the
// origin sector and the sequence count it was committed in), written and
// committed as the kernel does, so a cache device the kernel left dirty
// reads back here, and the other way round.
package writecache

import (
	"sync"
	"syscall"
	"time"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Type is the writecache target's registration.
var Type = targets.Type{Name: "writecache", Version: [3]int{1, 6, 0}, New: New}

// Writecache is one writecache table line.
//
// Concurrency: mu guards everything below it: the in-memory metadata
// (img, dirty), the index (entries, tree, LRU, free list), the counters,
// the settings messages change, the suspended state and the background
// flags, as the kernel's wc->lock does. I/O, messages, status and the
// background worker all take it; writeback copies under it, so no block
// is ever being written back while I/O sees it (blocks under writeback
// reads 0 outside a writeback).
type Writecache struct {
	ctx           *targets.Context
	origin, cache targets.Dev
	lenSectors    uint64
	cfg           config

	blockShift      uint   // log2 of cfg.blockBytes
	nBlocks         uint64 // from the superblock
	metadataSectors uint64 // superblock and entries, whole blocks
	freeHigh        uint64 // freelist_high_watermark in blocks
	freeLow         uint64 // freelist_low_watermark in blocks

	mu                 sync.Mutex
	img                []byte   // the metadata as in memory (memory_map)
	dirty              []uint64 // regionBytes regions of img to write at the next commit
	idx                index
	loaded             bool // resume built the index
	seqCount           uint64
	uncommitted        uint32 // uncommitted_blocks (wraps as the kernel's unsigned int)
	overwroteCommitted bool
	cleaner            bool
	flushOnSuspend     bool
	writebackAll       int
	errno              syscall.Errno // the first error (writecache_error), 0 if none
	stats              stats
	suspended          bool
	originSectors      uint64    // data_device_sectors, read at resume
	lastOriginWrite    time.Time // when the last write around ended (dm_iot)
	wbQueued           bool      // writeback work queued, not yet run
	autocommitArmed    bool
	bg                 *worker // nil while no worker runs
}

// stats are the counters of the status line, in its order.
type stats struct {
	Reads                   uint64 `json:"reads"`
	ReadHits                uint64 `json:"read_hits"`
	Writes                  uint64 `json:"writes"`
	WriteHitsUncommitted    uint64 `json:"write_hits_uncommitted"`
	WriteHitsCommitted      uint64 `json:"write_hits_committed"`
	WritesAround            uint64 `json:"writes_around"`
	WritesAllocate          uint64 `json:"writes_allocate"`
	WritesBlockedOnFreelist uint64 `json:"writes_blocked_on_freelist"`
	Flushes                 uint64 `json:"flushes"`
	Discards                uint64 `json:"discards"`
}

// blockSectors is the block size in sectors.
func (w *Writecache) blockSectors() uint64 { return uint64(w.cfg.blockBytes) / targets.SectorSize }

// cacheSector is where block e's data lies on the cache device.
func (w *Writecache) cacheSector(e int32) uint64 {
	return w.cfg.startSector + w.metadataSectors + uint64(e)<<(w.blockShift-9)
}

// committed is writecache_entry_is_committed.
func (w *Writecache) committed(e int32) bool { return w.idx.seq[e] < w.seqCount }

// fail is writecache_error: the first error is kept and logged; I/O then
// fails and nothing more is committed.
func (w *Writecache) fail(errno syscall.Errno, format string, args ...any) {
	if w.errno == 0 {
		w.errno = errno
		w.ctx.Logf("writecache: "+format, args...)
	}
}

// LogicalBlockBytes is writecache_io_hints' logical block size: the block
// size.
func (w *Writecache) LogicalBlockBytes() int64 { return int64(w.cfg.blockBytes) }

// Areas is the origin, from its start for the line's length: the cache
// device is not checked (writecache_iterate_devices).
func (w *Writecache) Areas() []targets.Area {
	return []targets.Area{{Dev: w.origin, LenSectors: w.lenSectors}}
}

// PostSuspend is writecache_suspend: the timers stop, uncommitted blocks
// are committed, everything is written back if flush_on_suspend was
// asked, and writeback already queued runs (a suspended device does not
// wait out pause_writeback).
func (w *Writecache) PostSuspend() error {
	w.stopWorker()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.suspended = true
	if !w.loaded {
		return nil
	}
	w.flush()
	if w.flushOnSuspend {
		w.flushOnSuspend = false
		w.writebackAll++
		w.wbQueued = true
	}
	if w.wbQueued {
		w.wbQueued = false
		w.writeback()
	}
	if w.writebackAll > 0 {
		w.writebackAll--
	}
	return nil
}

// PreResume has nothing to refuse.
func (w *Writecache) PreResume() error { return nil }

// Resume is writecache_resume: the metadata is read again from the cache
// device and the index rebuilt from it.
func (w *Writecache) Resume() {
	w.mu.Lock()
	w.suspended = false
	w.load()
	w.mu.Unlock()
	w.startWorker()
}

// StopBackground ends the process's background work: queued writeback is
// done now (the kernel's worker would do it once the origin is idle), then
// uncommitted blocks are committed, as the autocommit timer would.
func (w *Writecache) StopBackground() {
	w.stopWorker()
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.loaded || w.suspended {
		return
	}
	for w.wbQueued { // writeback requeues itself after 64 blocks
		w.wbQueued = false
		w.writeback()
	}
	w.flush()
}

// Close stops the background work; the kernel's destructor writes nothing.
func (w *Writecache) Close() error {
	w.stopWorker()
	return nil
}

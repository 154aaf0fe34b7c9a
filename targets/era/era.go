// Package era is the dm-era target (drivers/md/dm-era-target.c, v1.0.0):
// a pass-through to an origin device that records, per block of the
// origin, the era in which it was last written, so that backup software
// can ask which blocks changed since a given era. Its metadata (writesets
// as dm-bitsets, the era array as a dm-array, a writeset tree) is the
// kernel's, read by era_check, era_dump and era_invalidate.
package era

import (
	"fmt"
	"sync"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/targets"
)

// Type is the era target's registration.
var Type = targets.Type{Name: "era", Version: [3]int{1, 0, 0}, New: New, Destroys: true}

// Era is one era table line.
//
// Concurrency: workMu is the kernel's worker: it serialises every use of
// md, dg, nrBlocks, suspended, snapshot and ranSinceCommit (a round of
// doWork runs with it held). qmu protects the deferred writes (deferred)
// and the background digest's flags (bgRunning, bgDone). Lock order:
// workMu before qmu. I/O reads md.cur (an atomic pointer's words) without
// a lock, as the kernel's era_map reads the writeset under RCU.
type Era struct {
	ctx          *targets.Context
	meta, origin targets.Dev
	blockSectors uint32
	lenSectors   uint64

	workMu         sync.Mutex
	md             *metadata
	dg             digest
	nrBlocks       uint64 // era->nr_blocks: origin blocks as of the last preresume (0 before)
	suspended      bool   // the worker is stopped (era->suspended)
	fresh          bool   // built as an inactive table and not resumed yet
	quiet          bool   // replaying the kernel's background work: no log lines
	ranSinceCommit bool   // a worker round ran after the last commit
	snapshot       savedState

	qmu       sync.Mutex
	deferred  []*pendingWrite
	bgRunning bool
	bgDone    chan struct{}
}

// pendingWrite is a deferred write's block, waiting for the worker to
// record it; err is its outcome, valid once done is closed.
type pendingWrite struct {
	dataBlock uint64
	err       error
	done      chan struct{}
}

// logf writes a kernel line "era: ..." unless the worker is replaying.
func (e *Era) logf(format string, args ...any) {
	if !e.quiet {
		e.ctx.Logf("era: "+format, args...)
	}
}

// dataBlock is the origin block holding the target's sector (get_block).
func (e *Era) dataBlock(sector uint64) uint64 { return sector / uint64(e.blockSectors) }

// ReadAt passes reads straight to the origin.
func (e *Era) ReadAt(p []byte, sector uint64) error {
	_, err := e.origin.ReadAt(p, int64(sector*targets.SectorSize))
	return err
}

// WriteAt writes through to the origin; a write to a block not yet marked
// in the current era waits until the worker has marked it and committed
// the metadata (era_map deferring to process_deferred_bios).
func (e *Era) WriteAt(p []byte, sector uint64) error { return e.write(p, sector, false) }

// WriteFUA is targets.FUAWriter: era_map treats a REQ_FUA write as any
// write (only REQ_PREFLUSH bios are passed by unmarked), so it is marked
// as WriteAt marks, then goes to the origin as a FUA write; the origin is
// not flushed as a whole.
func (e *Era) WriteFUA(p []byte, sector uint64) error { return e.write(p, sector, true) }

// write is WriteAt, or WriteFUA with fua.
func (e *Era) write(p []byte, sector uint64, fua bool) error {
	if err := e.mark(sector); err != nil {
		return err
	}
	return targets.DevWrite(e.origin, p, int64(sector*targets.SectorSize), fua)
}

// Discard is a write for era (it marks the block of its first sector) and
// goes on to the origin.
func (e *Era) Discard(sector, lenSectors uint64) error {
	if err := e.mark(sector); err != nil {
		return err
	}
	return e.origin.Discard(int64(sector*targets.SectorSize), int64(lenSectors*targets.SectorSize))
}

// Flush flushes the origin (a flush carries no data: nothing to mark).
func (e *Era) Flush() error { return e.origin.Flush() }

// mark records sector's block in the current writeset unless it is there.
func (e *Era) mark(sector uint64) error {
	b := e.dataBlock(sector)
	if e.md.cur.Load().marked(b) {
		return nil
	}
	w := &pendingWrite{dataBlock: b, done: make(chan struct{})}
	e.qmu.Lock()
	e.deferred = append(e.deferred, w)
	e.qmu.Unlock()
	e.work(nil)
	<-w.done
	return w.err
}

// MaxIOSectors is the block size: no I/O crosses a block.
func (e *Era) MaxIOSectors() uint64 { return uint64(e.blockSectors) }

// Areas is the whole origin (era_iterate_devices).
func (e *Era) Areas() []targets.Area {
	return []targets.Area{{Dev: e.origin, LenSectors: uint64(e.origin.SizeBytes()) / targets.SectorSize}}
}

// IOHints is era_io_hints' io_opt: the origin's when it is a multiple of
// the block size, else the block size.
func (e *Era) IOHints(stackedBytes int64) int64 {
	return targets.KeepFactorOfBlock(stackedBytes, int64(e.blockSectors)*targets.SectorSize)
}

// Table is "<metadata dev> <origin dev> <block size>".
func (e *Era) Table() string {
	return fmt.Sprintf("%s %s %d", e.meta.Name(), e.origin.Name(), e.blockSectors)
}

// Status is era_status's info line, asked of the worker (which commits):
// <metadata block sectors> <used>/<total> <current era> <held root|->.
func (e *Era) Status() string {
	var used, total, snap uint64
	var era uint32
	err := e.rpc(func(md *metadata) error {
		var err error
		used, total, err = md.stats()
		snap, era = md.snap, md.currentEra
		return err
	})
	if err != nil {
		return "Error"
	}
	held := "-"
	if snap != sbLocation {
		held = fmt.Sprint(snap)
	}
	return fmt.Sprintf("%d %d/%d %d %s", block.SectorsPerBlock, used, total, era, held)
}

package writecache

import (
	"syscall"
	"time"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Writeback limits (WRITEBACK_LATENCY, BIO_MAX_VECS).
const (
	writebackLatency = 64
	maxRunBlocks     = 256
)

// run is a stretch of blocks written back by one copy: consecutive on the
// cache device and at consecutive origin sectors.
type run struct {
	first int32
	n     int
}

// writeback is writecache_writeback, under the lock from selection to the
// end of the copies: blocks are chosen oldest first (every block by origin
// sector when everything is to be written back), while the free blocks
// and those chosen are at or below the low watermark or the oldest is
// past max_age; each chosen block takes the committed blocks after it on
// both devices with it, up to 256. Uncommitted blocks are committed first.
// The copies go to the origin, which is flushed; then the blocks are freed
// and their entries committed. After 64 blocks the work is queued again
// (not when writing everything back).
func (w *Writecache) writeback() {
	if w.errno != 0 || !w.loaded {
		return
	}
	x := &w.idx
	var runs []run
	var chosen uint64
	walked := 0
	var order []int32 // writeback_all: every block by origin sector
	next := 0
	now := time.Now()
	for x.head != none && (w.writebackAll > 0 || x.freeCount+chosen <= w.freeLow || w.aged(x.tail, now)) {
		walked++
		if walked > writebackLatency && w.writebackAll == 0 {
			if !w.suspended {
				w.queueWriteback()
			}
			break
		}
		var e int32
		if w.writebackAll > 0 {
			if order == nil {
				w.flush()
				order = x.sorted()
			}
			for next < len(order) && !x.inLRU(order[next]) {
				next++ // taken by an earlier run
			}
			if next >= len(order) {
				break
			}
			e = order[next]
		} else {
			e = x.tail
		}
		if !w.committed(e) {
			w.flush()
		}
		x.unlinkLRU(e)
		chosen++
		r := run{first: e, n: 1}
		for f := e; r.n < maxRunBlocks; {
			g, ok := x.lookup(x.orig[f] + w.blockSectors())
			if !ok || !w.committed(g) || g != f+1 || !x.inLRU(g) {
				break
			}
			walked++
			x.unlinkLRU(g)
			chosen++
			r.n++
			f = g
		}
		runs = append(runs, r)
	}
	if len(runs) == 0 {
		return
	}
	copyFailed := make([]bool, len(runs))
	for i, r := range runs {
		copyFailed[i] = !w.copyRun(r)
	}
	if w.errno == 0 {
		w.diskFlush(w.origin)
	}
	for i, r := range runs {
		if copyFailed[i] {
			w.fail(syscall.EIO, "copy error")
		}
		for k := 0; k < r.n; k++ {
			e := r.first + int32(k)
			if w.errno == 0 {
				w.freeEntry(e)
			} else {
				x.pushHead(e)
			}
		}
	}
	w.commitFlushed()
}

// aged reports whether block e is past max_age (less a sixteenth).
func (w *Writecache) aged(e int32, now time.Time) bool {
	if !w.cfg.maxAgeSet || e == none {
		return false
	}
	return now.Sub(time.Unix(0, w.idx.age[e])) >= w.cfg.maxAge-w.cfg.maxAge/maxAgeDiv
}

// copyRun copies a run's data from the cache device to the origin, cut at
// the origin's end as the kernel saw it at resume.
func (w *Writecache) copyRun(r run) bool {
	to := w.idx.orig[r.first]
	n := uint64(r.n) << (w.blockShift - 9)
	if to >= w.originSectors {
		return true
	}
	n = min(n, w.originSectors-to)
	buf := make([]byte, n*targets.SectorSize)
	if _, err := w.cache.ReadAt(buf, int64(w.cacheSector(r.first)*targets.SectorSize)); err != nil {
		return false
	}
	_, err := w.origin.WriteAt(buf, int64(to*targets.SectorSize))
	return err == nil
}

package integrity

import "syscall"

// Recalculation (integrity_recalc) chunk sizes.
const (
	recalcSectors    = 32768 // RECALC_SECTORS
	recalcWriteSuper = 16    // RECALC_WRITE_SUPER: chunks between superblock writes
)

// background is the recalculation running in its goroutine: stop asks it
// to end after its chunk, done is closed when it has.
type background struct {
	stop, done chan struct{}
}

// recalcPending reports whether tags remain to be recalculated.
func (x *Integrity) recalcPending() bool {
	return x.hash != nil && x.sb.has(flagRecalculating) && x.sb.recalcSector() < x.geo.provided
}

// startBackground starts the recalculation when the superblock asks for it.
func (x *Integrity) startBackground() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.bg != nil || !x.recalcPending() {
		return
	}
	bg := &background{stop: make(chan struct{}), done: make(chan struct{})}
	x.bg = bg
	x.recalcCounter = 0
	go func() {
		defer close(bg.done)
		for {
			select {
			case <-bg.stop:
				return
			default:
			}
			x.mu.Lock()
			more := x.recalcChunk()
			x.mu.Unlock()
			if !more {
				return
			}
		}
	}()
}

// stopBackground stops the recalculation, waits for it and writes its
// position (integrity_recalc's exit on a suspend).
func (x *Integrity) stopBackground() {
	if x.haltBackground() {
		x.mu.Lock()
		x.recalcWriteSuper()
		x.mu.Unlock()
	}
}

// haltBackground stops the recalculation and waits for it, writing
// nothing; it reports whether one was running.
func (x *Integrity) haltBackground() bool {
	x.mu.Lock()
	bg := x.bg
	x.bg = nil
	x.mu.Unlock()
	if bg == nil {
		return false
	}
	close(bg.stop)
	<-bg.done
	return true
}

// finishRecalc runs a pending recalculation to its end here, as the
// kernel's worker would go on (its chunks counted on for the periodic
// superblock writes; the last chunk writes the superblock).
func (x *Integrity) finishRecalc() {
	if !x.recalcPending() {
		return
	}
	for x.recalcChunk() {
	}
}

// recalcChunk is one pass of integrity_recalc's loop (recalcRange), and
// endRecalc once it reaches the end. It reports whether there is more.
// recalc_sector is below the end when it is called (recalcPending).
func (x *Integrity) recalcChunk() bool {
	if !x.recalcRange() {
		return false
	}
	if x.sb.recalcSector() < x.geo.provided {
		return true
	}
	x.endRecalc()
	return false
}

// recalcRange computes the tags of up to recalcSectors from recalc_sector
// (in one area; in mode B only the dirty part) from the data, writes them
// and moves recalc_sector on, the range locked against I/O meanwhile. It
// reports false when the target failed.
func (x *Integrity) recalcRange() bool {
	g := &x.geo
	if x.failed != 0 {
		return false
	}
	ls := x.sb.recalcSector()
	a := g.areaOffset(ls)
	n := min(uint64(recalcSectors), g.provided-ls)
	if !g.metaDev {
		n = min(n, 1<<g.log2Il-a.offset)
	}
	r := x.ranges.lock(ls, n, rangeIO)
	defer x.ranges.unlock(r)
	rangeStart, rangeLen := ls, n
	bs := g.blockSectors()
	skip := false
	if x.bitmap != nil {
		r := x.bitmap.recalc
		if r.allClear(ls, n) {
			skip = true
		} else {
			for r.allClear(ls, bs) {
				ls, n = ls+bs, n-bs
			}
			for r.allClear(ls+n-bs, bs) {
				n -= bs
			}
			a = g.areaOffset(ls)
		}
	}
	if !skip {
		x.recalcCounter++
		if x.recalcCounter == recalcWriteSuper {
			x.recalcWriteSuper()
			if x.bitmap != nil {
				x.bitmap.scheduleFlush()
			}
			x.recalcCounter = 0
		}
		if x.failed != 0 {
			return false
		}
		buf := make([]byte, n*512)
		if _, err := x.dev.ReadAt(buf, int64(g.dataSector(a))*512); err != nil {
			x.ioError("reading data", syscall.EIO)
			return false
		}
		if err := x.writeTags(a, x.checksums(buf, ls)); err != nil {
			x.ioError("writing tags", errnoOf(err))
			return false
		}
		if x.bitmap != nil {
			sh := x.bitmap.recalc.shift
			start := rangeStart >> sh << sh
			end := (rangeStart + rangeLen) >> sh << sh
			x.bitmap.recalc.clearRange(start, end-start)
		}
	}
	x.sb.setRecalcSector(rangeStart + rangeLen)
	return true
}

// endRecalc is integrity_recalc's end: in mode B the recalculation bitmap
// cleared and flushed, then the superblock written with recalc_sector at the
// end. recalcChunk runs it right after the chunk that reaches the end, with
// no stop between them, so that the position on the device agrees with the
// one in memory (which SaveState keeps for the next process).
func (x *Integrity) endRecalc() {
	if x.bitmap != nil {
		x.bitmap.recalc.clearRange(0, x.geo.provided)
		x.bitmap.flush()
	}
	x.recalcWriteSuper()
}

package writecache

import (
	"fmt"
	"syscall"
	"time"

	"github.com/gdmsetup/gdmsetup/targets"
)

// ReadAt is writecache_map_read, piece by piece as the kernel splits the
// bio: a block in the cache is read from there (one block per piece); a
// run of blocks that are not is read from the origin, up to the next one
// that is.
func (w *Writecache) ReadAt(p []byte, sector uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.checkIO("read", sector, len(p)); err != nil {
		return err
	}
	for len(p) > 0 {
		n, err := w.mapRead(p, sector)
		if err != nil {
			return err
		}
		p, sector = p[n:], sector+uint64(n)/targets.SectorSize
	}
	return nil
}

func (w *Writecache) mapRead(p []byte, sector uint64) (int, error) {
	bs := uint64(w.cfg.blockBytes)
	w.stats.Reads++
	e, ok := w.idx.firstFrom(sector, uint64(len(p))/targets.SectorSize, w.blockSectors())
	if ok && w.idx.orig[e] == sector {
		w.stats.ReadHits++
		if _, err := w.cache.ReadAt(p[:bs], int64(w.cacheSector(e)*targets.SectorSize)); err != nil {
			return 0, fmt.Errorf("writecache %s: reading block %d from the cache device: %w", w.ctx.DevName, e, err)
		}
		return int(bs), nil
	}
	n := w.uptoCached(len(p), sector, e, ok)
	w.stats.Reads += uint64(n-int(bs)) >> w.blockShift
	if _, err := w.origin.ReadAt(p[:n], int64(sector*targets.SectorSize)); err != nil {
		return 0, fmt.Errorf("writecache %s: reading sector %d from the origin: %w", w.ctx.DevName, sector, err)
	}
	return n, nil
}

// uptoCached is how many bytes of an I/O of lenBytes at sector go to the
// origin before block e, the first cached one in it (if ok)
// (writecache_map_remap_origin).
func (w *Writecache) uptoCached(lenBytes int, sector uint64, e int32, ok bool) int {
	if !ok {
		return lenBytes
	}
	return int((w.idx.orig[e] - sector) * targets.SectorSize)
}

// WriteAt is writecache_map_write, piece by piece: a write to a cached
// block rewrites it in place (with the cached blocks after it on both
// devices); a write elsewhere takes a free block (and the free blocks
// after it on the cache device, while they are next); with no free block,
// with the cleaner, or with metadata_only, it goes around the cache to the
// origin, up to the next cached block. autocommit_blocks uncommitted
// blocks commit; fewer arm the autocommit timer.
func (w *Writecache) WriteAt(p []byte, sector uint64) error { return w.write(p, sector, false) }

// WriteFUA is targets.FUAWriter, writecache_map_write of a REQ_FUA bio in
// SSD mode: each piece goes to the cache device or around it to the origin
// as a FUA write (the remapped bio keeps the flag); nothing more is
// committed than for a plain write, and no flush is counted (6.1 commits
// for REQ_FUA only in pmem mode, which gdmsetup does not build).
func (w *Writecache) WriteFUA(p []byte, sector uint64) error { return w.write(p, sector, true) }

// write is WriteAt, or WriteFUA with fua.
func (w *Writecache) write(p []byte, sector uint64, fua bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.checkIO("write", sector, len(p)); err != nil {
		return err
	}
	for len(p) > 0 {
		n, err := w.mapWrite(p, sector, fua)
		if err != nil {
			return err
		}
		p, sector = p[n:], sector+uint64(n)/targets.SectorSize
	}
	return nil
}

func (w *Writecache) mapWrite(p []byte, sector uint64, fua bool) (int, error) {
	x := &w.idx
	if w.errno != 0 {
		w.stats.Writes += uint64(len(p)) >> w.blockShift
		return 0, fmt.Errorf("writecache %s: write to sector %d after an error: %w", w.ctx.DevName, sector, syscall.EIO)
	}
	e, found := x.lookup(sector)
	if found {
		if w.committed(e) {
			w.stats.WriteHitsCommitted++
			w.overwroteCommitted = true
		} else {
			w.stats.WriteHitsUncommitted++
		}
		return w.copyToCache(p, sector, e, true, fua)
	}
	if w.cleaner || w.cfg.metadataOnly {
		return w.writeAround(p, sector, fua)
	}
	e, ok := w.popFree(none)
	if !ok {
		return w.writeAround(p, sector, fua)
	}
	w.allocate(e, sector)
	w.stats.WritesAllocate++
	return w.copyToCache(p, sector, e, false, fua)
}

// popFree takes a free block (want: only that one) and checks the high
// watermark (writecache_pop_from_freelist).
func (w *Writecache) popFree(want int32) (int32, bool) {
	e, ok := w.idx.popFree(want)
	if ok {
		w.verifyWatermark()
	}
	return e, ok
}

// allocate makes free block e hold sector, uncommitted.
func (w *Writecache) allocate(e int32, sector uint64) {
	w.setEntry(e, sector, w.seqCount)
	w.idx.insert(e, time.Now())
	w.uncommitted++
}

// copyToCache is writecache_bio_copy_ssd: the piece starts at block e and
// takes the blocks after it while they are next on the cache device (used
// ones: cached at the next sectors; free ones: the free cursor's), then
// its data is written to the cache device (with FUA when fua).
func (w *Writecache) copyToCache(p []byte, sector uint64, e int32, used, fua bool) (int, error) {
	x := &w.idx
	bs := int(w.cfg.blockBytes)
	first, last := e, e
	n := bs
	for n < len(p) {
		next := last + 1
		if used {
			g, ok := x.lookup(x.orig[last] + w.blockSectors())
			if !ok || g != next {
				break
			}
			if w.committed(g) {
				w.overwroteCommitted = true
			}
		} else {
			if uint64(next) >= w.nBlocks {
				break
			}
			if _, ok := w.popFree(next); !ok {
				break
			}
			w.allocate(next, sector+uint64(n)/targets.SectorSize)
		}
		last = next
		n += bs
	}
	if err := targets.DevWrite(w.cache, p[:n], int64(w.cacheSector(first)*targets.SectorSize), fua); err != nil {
		return 0, fmt.Errorf("writecache %s: writing block %d to the cache device: %w", w.ctx.DevName, first, err)
	}
	w.stats.Writes += uint64(n) >> w.blockShift
	w.stats.WritesAllocate += uint64(n-bs) >> w.blockShift
	if w.uncommitted >= w.cfg.autocommitBlocks {
		w.uncommitted = 0
		w.flush()
	} else {
		w.scheduleAutocommit()
	}
	return n, nil
}

// writeAround writes to the origin up to the next cached block (with FUA
// when fua).
func (w *Writecache) writeAround(p []byte, sector uint64, fua bool) (int, error) {
	e, ok := w.idx.firstFrom(sector, uint64(len(p))/targets.SectorSize, w.blockSectors())
	n := w.uptoCached(len(p), sector, e, ok)
	w.stats.WritesAround += uint64(n) >> w.blockShift
	w.stats.Writes += uint64(n) >> w.blockShift
	err := targets.DevWrite(w.origin, p[:n], int64(sector*targets.SectorSize), fua)
	w.lastOriginWrite = time.Now()
	if err != nil {
		return 0, fmt.Errorf("writecache %s: writing sector %d to the origin: %w", w.ctx.DevName, sector, err)
	}
	return n, nil
}

// Discard is writecache_discard, then the discard goes to the origin: the
// cached blocks in the range are freed and their entries committed.
func (w *Writecache) Discard(sector, lenSectors uint64) error {
	w.mu.Lock()
	if err := w.checkIO("discard", sector, int(lenSectors*targets.SectorSize)); err != nil {
		w.mu.Unlock()
		return err
	}
	w.stats.Discards += lenSectors * targets.SectorSize >> w.blockShift
	if w.errno != 0 {
		w.mu.Unlock()
		return fmt.Errorf("writecache %s: discard after an error: %w", w.ctx.DevName, syscall.EIO)
	}
	freed := false
	for _, e := range w.idx.inRange(sector, sector+lenSectors, w.blockSectors()) {
		if !w.committed(e) {
			w.uncommitted--
		}
		w.freeEntry(e)
		freed = true
	}
	if freed {
		w.commitFlushed()
	}
	w.mu.Unlock()
	return w.origin.Discard(int64(sector*targets.SectorSize), int64(lenSectors*targets.SectorSize))
}

// Flush is the flush bio's two copies: the first commits (counted in
// the status), the second flushes the origin.
func (w *Writecache) Flush() error {
	w.mu.Lock()
	if w.errno != 0 || !w.loaded {
		w.mu.Unlock()
		return fmt.Errorf("writecache %s: flush after an error: %w", w.ctx.DevName, syscall.EIO)
	}
	w.stats.Flushes++
	w.flush()
	failed := w.errno != 0
	w.mu.Unlock()
	if failed {
		return fmt.Errorf("writecache %s: commit failed: %w", w.ctx.DevName, syscall.EIO)
	}
	return w.origin.Flush()
}

// checkIO fails I/O that is not made of whole blocks, as writecache_map
// does, and I/O before the table was resumed.
func (w *Writecache) checkIO(op string, sector uint64, lenBytes int) error {
	if !w.loaded {
		return fmt.Errorf("writecache %s: %s before the table was resumed: %w", w.ctx.DevName, op, syscall.EIO)
	}
	lenSectors := uint64(lenBytes) / targets.SectorSize
	if (uint32(sector)|uint32(lenSectors))&uint32(w.blockSectors()-1) != 0 {
		w.ctx.Logf("writecache: I/O is not aligned, sector %d, size %d, block size %d", sector, lenBytes, w.cfg.blockBytes)
		return fmt.Errorf("writecache %s: %s of %d bytes at sector %d is not made of %d-byte blocks: %w",
			w.ctx.DevName, op, lenBytes, sector, w.cfg.blockBytes, syscall.EIO)
	}
	return nil
}

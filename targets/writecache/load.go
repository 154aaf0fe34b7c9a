package writecache

import (
	"encoding/binary"
	"syscall"
	"time"

	"github.com/gdmsetup/gdmsetup/targets"
)

// load is writecache_resume: the metadata is read from the cache device
// (on failure every entry counts as free), then the index is built from
// it: committed entries (seq_count below the superblock's) are used, of
// two for one sector the later one; uncommitted ones are erased. Anything
// erased or dropped is written back at once, all of the metadata.
func (w *Writecache) load() {
	w.originSectors = uint64(w.origin.SizeBytes()) / targets.SectorSize
	metaBytes := w.metadataSectors * targets.SectorSize
	if _, err := w.cache.ReadAt(w.img[:metaBytes], int64(w.cfg.startSector*targets.SectorSize)); err != nil {
		no := errnoOf(err)
		w.fail(no, "unable to read metadata: %d", -int(no))
		for i := sbBytes; i < int(metaBytes); i++ {
			w.img[i] = 0xff
		}
	}
	x := &w.idx
	x.reset(w.nBlocks)
	w.seqCount = binary.LittleEndian.Uint64(w.img[offSeqCount:])
	now := time.Now()
	needFlush := false
	for b := uint64(0); b < w.nBlocks; b++ {
		e := int32(b)
		off := entryOffBytes(b)
		x.orig[e] = binary.LittleEndian.Uint64(w.img[off:])
		x.seq[e] = binary.LittleEndian.Uint64(w.img[off+8:])
		if !w.committed(e) {
			if x.seq[e] != noSeq {
				w.clearSeq(e)
				needFlush = true
			}
			x.addFree(e)
			continue
		}
		old, ok := x.lookup(x.orig[e])
		switch {
		case !ok:
			x.insert(e, now)
		case x.seq[old] > x.seq[e]:
			w.clearSeq(e)
			needFlush = true
			x.addFree(e)
		default:
			if x.seq[old] == x.seq[e] {
				w.fail(syscall.EINVAL, "two identical entries, position %d, sector %d, sequence %d", b, x.orig[e], x.seq[e])
			}
			w.freeEntry(old)
			x.insert(e, now)
			needFlush = true
		}
	}
	if needFlush {
		w.markAll()
		w.commitFlushed()
	}
	w.loaded = true
	w.verifyWatermark()
}

// freeEntry is writecache_free_entry: e leaves the tree and the LRU list,
// goes to the free set, and its entry is marked free for the next commit.
func (w *Writecache) freeEntry(e int32) {
	x := &w.idx
	x.unlinkLRU(e)
	delete(x.tree, x.orig[e])
	x.addFree(e)
	w.clearSeq(e)
	w.markEntry(e)
}

// verifyWatermark is writecache_verify_watermark: at or below the high
// watermark of free blocks, writeback is queued.
func (w *Writecache) verifyWatermark() {
	if w.idx.freeCount <= w.freeHigh {
		w.queueWriteback()
	}
}

package writecache

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// setEntry writes block e's entry in memory (write_original_sector_seq_count).
func (w *Writecache) setEntry(e int32, origSector, seq uint64) {
	w.idx.orig[e], w.idx.seq[e] = origSector, seq
	off := entryOffBytes(uint64(e))
	binary.LittleEndian.PutUint64(w.img[off:], origSector)
	binary.LittleEndian.PutUint64(w.img[off+8:], seq)
}

// clearSeq marks block e's entry free in memory (clear_seq_count); its
// origin sector stays.
func (w *Writecache) clearSeq(e int32) {
	w.idx.seq[e] = noSeq
	binary.LittleEndian.PutUint64(w.img[entryOffBytes(uint64(e))+8:], noSeq)
}

// markEntry marks the region holding block e's entry for the next commit
// (writecache_flush_region).
func (w *Writecache) markEntry(e int32) {
	r := entryOffBytes(uint64(e)) / regionBytes
	w.dirty[r/64] |= 1 << (r % 64)
}

// markAll marks every region (writecache_flush_all_metadata).
func (w *Writecache) markAll() {
	for i := range w.dirty {
		w.dirty[i] = ^uint64(0)
	}
}

// dirtyBit reports whether region r is marked.
func (w *Writecache) dirtyBit(r uint64) bool { return w.dirty[r/64]&(1<<(r%64)) != 0 }

// commitFlushed is ssd_commit_flushed: each run of marked regions, cut at
// the end of the metadata, is written to the cache device, then the cache
// device is flushed.
func (w *Writecache) commitFlushed() {
	nRegions := uint64(len(w.dirty)) * 64
	metaBytes := w.metadataSectors * targets.SectorSize
	for i := uint64(0); i < nRegions; {
		if !w.dirtyBit(i) {
			i = w.nextDirty(i)
			continue
		}
		j := i + 1
		for j < nRegions && w.dirtyBit(j) {
			j++
		}
		start := i * regionBytes
		if start >= metaBytes {
			break
		}
		end := min(j*regionBytes, metaBytes)
		if _, err := w.cache.WriteAt(w.img[start:end], int64(w.cfg.startSector*targets.SectorSize+start)); err != nil {
			w.fail(syscall.EIO, "error writing metadata")
		}
		i = j
	}
	w.diskFlush(w.cache)
	clear(w.dirty)
}

// nextDirty is the first marked region after i, or the end.
func (w *Writecache) nextDirty(i uint64) uint64 {
	n := uint64(len(w.dirty)) * 64
	i++
	for i < n {
		word := w.dirty[i/64] >> (i % 64)
		if word != 0 {
			return i + uint64(bits.TrailingZeros64(word))
		}
		i = (i/64 + 1) * 64
	}
	return n
}

// commitSuperblock is ssd_commit_superblock: the first max(4096, block
// size) bytes of the metadata (the superblock and the entries after it),
// written with FUA.
func (w *Writecache) commitSuperblock() {
	n := min(max(4096, uint64(w.cfg.blockBytes)), w.metadataSectors*targets.SectorSize)
	if _, err := w.cache.WriteAt(w.img[:n], int64(w.cfg.startSector*targets.SectorSize)); err != nil {
		w.fail(errnoOf(err), "error writing superblock")
		return
	}
	if err := w.cache.Flush(); err != nil {
		w.fail(errnoOf(err), "error writing superblock")
	}
}

// diskFlush is writecache_disk_flush.
func (w *Writecache) diskFlush(dev targets.Dev) {
	if err := dev.Flush(); err != nil {
		no := errnoOf(err)
		w.fail(no, "error flushing metadata: %d", -int(no))
	}
}

// format is init_memory: a superblock without its magic and every entry
// free are written and flushed, then the magic.
func (w *Writecache) format(nBlocks uint64) {
	clear(w.img[:sbBytes])
	le := binary.LittleEndian
	le.PutUint32(w.img[offVersion:], sbVersion)
	le.PutUint32(w.img[offBlockSize:], w.cfg.blockBytes)
	le.PutUint64(w.img[offNBlocks:], nBlocks)
	le.PutUint64(w.img[offSeqCount:], 0)
	for b := uint64(0); b < nBlocks; b++ {
		off := entryOffBytes(b)
		le.PutUint64(w.img[off:], noSeq)
		le.PutUint64(w.img[off+8:], noSeq)
	}
	w.markAll()
	w.commitFlushed()
	le.PutUint32(w.img[offMagic:], sbMagic)
	w.dirty[0] |= 1
	w.commitFlushed()
}

// errnoOf is the errno an I/O error carries, EIO when none.
func errnoOf(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return syscall.EIO
}

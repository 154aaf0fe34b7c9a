package writecache

import "encoding/binary"

// flush is writecache_flush, the commit: the entries of the uncommitted
// blocks (at the LRU's head) are written with their regions and the cache
// device flushed, then the superblock's seq_count is raised and written
// with FUA. With nothing uncommitted, a rewrite of a committed block in
// place is made durable by a flush of the cache device.
func (w *Writecache) flush() {
	w.uncommitted = 0
	w.autocommitArmed = false
	x := &w.idx
	e := x.head
	if e == none {
		return
	}
	if w.committed(e) {
		if w.overwroteCommitted {
			w.diskFlush(w.cache)
			w.overwroteCommitted = false
		}
		return
	}
	for ; e != none && !w.committed(e); e = x.next[e] {
		w.markEntry(e)
	}
	w.commitFlushed()
	w.seqCount++
	binary.LittleEndian.PutUint64(w.img[offSeqCount:], w.seqCount)
	w.commitSuperblock()
	w.overwroteCommitted = false
}

// scheduleAutocommit arms the autocommit timer unless it is armed
// (writecache_schedule_autocommit).
func (w *Writecache) scheduleAutocommit() {
	if w.autocommitArmed {
		return
	}
	w.autocommitArmed = true
	if w.bg != nil {
		w.bg.armAutocommit(w.cfg.autocommit)
	}
}

// queueWriteback queues the writeback work.
func (w *Writecache) queueWriteback() {
	w.wbQueued = true
	if w.bg != nil {
		w.bg.kickWriteback()
	}
}

package integrity

import "sync"

// sectorRange is the sectors [start, end) an I/O covers (struct
// dm_integrity_range), and what the I/O is.
type sectorRange struct {
	start, end uint64
	kind       rangeKind
}

// rangeKind is what a locked range does to its sectors, which decides
// what it waits for.
type rangeKind uint8

const (
	// rangeIO reads or changes the sectors in place: a read, a write in
	// modes D and B, a discard, a recalculation chunk, the bitmap flush.
	rangeIO rangeKind = iota
	// rangeJournalWrite is a mode J write: it changes only the journal.
	rangeJournalWrite
	// rangeWriteBack is a run of journal entries the writer copies into
	// place (do_journal_write's journal_io range).
	rangeWriteBack
)

// waitsFor reports whether r, to be locked, waits for o, locked or
// waiting before it: they overlap, unless r is a write-back and o a
// journal write. The kernel's journal writes lock no range; here they
// do, so that overlapping writes and reads are ordered whole, but the
// writer passes them: a journal write may wait for the writer (for free
// journal entries) while it holds its range, and the sectors the writer
// copies into place are not those it changes.
func (r *sectorRange) waitsFor(o *sectorRange) bool {
	return r.start < o.end && o.start < r.end && !(r.kind == rangeWriteBack && o.kind == rangeJournalWrite)
}

// rangeLocks is the kernel's range locking (add_new_range,
// wait_and_add_new_range, remove_range): each I/O locks the sectors it
// covers for its whole run, so that I/O on overlapping sectors is ordered
// (the later waits for the earlier to end) while I/O on disjoint sectors
// runs at once. A range waits also for the earlier waiting ranges it
// overlaps (the kernel's wait_list), so that a range over the whole device
// (the bitmap flush) is not starved by a stream of small ones; except a
// write-back, which waits only for the locked ranges (sectorRange.waitsFor):
// what waits before it may wait for the writer.
//
// Concurrency: active and waiting are guarded by the mutex of cond
// (Integrity.mu); lock releases that mutex while it waits.
type rangeLocks struct {
	cond    *sync.Cond
	active  []*sectorRange
	waiting []*sectorRange // in order of arrival
}

// lock waits until [start, start+n), an I/O of kind, waits for no locked
// range and no range waiting before it, then locks it. The caller holds
// cond's mutex.
func (l *rangeLocks) lock(start, n uint64, kind rangeKind) *sectorRange {
	r := &sectorRange{start, start + n, kind}
	if l.free(r, len(l.waiting)) {
		l.active = append(l.active, r)
		return r
	}
	l.waiting = append(l.waiting, r)
	for {
		l.cond.Wait()
		i := index(l.waiting, r)
		if l.free(r, i) {
			l.waiting = append(l.waiting[:i], l.waiting[i+1:]...)
			l.active = append(l.active, r)
			// a range behind r may have waited for r only
			l.cond.Broadcast()
			return r
		}
	}
}

// unlock ends r's I/O, waking the ranges that wait. The caller holds
// cond's mutex.
func (l *rangeLocks) unlock(r *sectorRange) {
	i := index(l.active, r)
	l.active = append(l.active[:i], l.active[i+1:]...)
	if len(l.waiting) > 0 {
		l.cond.Broadcast()
	}
}

// free reports whether r waits for no locked range and, unless it is a
// write-back, for none of the first nEarlier waiting ones.
func (l *rangeLocks) free(r *sectorRange, nEarlier int) bool {
	for _, o := range l.active {
		if r.waitsFor(o) {
			return false
		}
	}
	if r.kind == rangeWriteBack {
		return true
	}
	for _, o := range l.waiting[:nEarlier] {
		if r.waitsFor(o) {
			return false
		}
	}
	return true
}

func index(rs []*sectorRange, r *sectorRange) int {
	for i, o := range rs {
		if o == r {
			return i
		}
	}
	panic("integrity: range not locked")
}

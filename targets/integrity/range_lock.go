package integrity

import "sync"

// sectorRange is the sectors [start, end) an I/O covers (struct
// dm_integrity_range).
type sectorRange struct{ start, end uint64 }

func (r *sectorRange) overlaps(o *sectorRange) bool { return r.start < o.end && o.start < r.end }

// rangeLocks is the kernel's range locking (add_new_range,
// wait_and_add_new_range, remove_range): each I/O locks the sectors it
// covers for its whole run, so that I/O on overlapping sectors is ordered
// (the later waits for the earlier to end) while I/O on disjoint sectors
// runs at once. A range waits also for the earlier waiting ranges it
// overlaps (the kernel's wait_list), so that a range over the whole device
// (the bitmap flush) is not starved by a stream of small ones.
//
// Concurrency: active and waiting are guarded by the mutex of cond
// (Integrity.mu); lock releases that mutex while it waits.
type rangeLocks struct {
	cond    *sync.Cond
	active  []*sectorRange
	waiting []*sectorRange // in order of arrival
}

// lock waits until [start, start+n) overlaps no locked range and no range
// waiting before it, then locks it. The caller holds cond's mutex.
func (l *rangeLocks) lock(start, n uint64) *sectorRange {
	r := &sectorRange{start, start + n}
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

// free reports whether r overlaps no locked range and none of the first
// nEarlier waiting ones.
func (l *rangeLocks) free(r *sectorRange, nEarlier int) bool {
	for _, o := range l.active {
		if r.overlaps(o) {
			return false
		}
	}
	for _, o := range l.waiting[:nEarlier] {
		if r.overlaps(o) {
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

package cache

// The smq policy's building blocks (dm-cache-policy-smq.c): entries in one
// space addressed by index, intrusive lists, multi-level queues, hit
// statistics and entry allocators. Fields are exported only so that the
// policy's state can be saved across processes (encoding/gob).

// indexerNull is INDEXER_NULL: no entry.
const indexerNull = 1<<28 - 1

// entry is struct entry: a cache block, a hotspot block or a sentinel.
type entry struct {
	Prev, Next  uint32
	Level       uint8
	Dirty       bool
	Allocated   bool
	Sentinel    bool
	PendingWork bool
	InHash      bool // in its hash table (h_insert'ed)
	Oblock      uint64
}

// entrySpace is struct entry_space: every entry of the policy.
type entrySpace struct{ E []entry }

func (es *entrySpace) at(i uint32) *entry {
	if i == indexerNull {
		return nil
	}
	return &es.E[i]
}

// ilist is struct ilist: a doubly linked list of entries by index;
// NrElts counts the entries that are not sentinels.
type ilist struct{ NrElts, Head, Tail uint32 }

func newIlist() ilist { return ilist{Head: indexerNull, Tail: indexerNull} }

func (l *ilist) empty() bool { return l.Head == indexerNull }

func (es *entrySpace) addHead(l *ilist, i uint32) {
	e := &es.E[i]
	e.Next, e.Prev = l.Head, indexerNull
	if l.Head != indexerNull {
		es.E[l.Head].Prev = i
		l.Head = i
	} else {
		l.Head, l.Tail = i, i
	}
	if !e.Sentinel {
		l.NrElts++
	}
}

func (es *entrySpace) addTail(l *ilist, i uint32) {
	e := &es.E[i]
	e.Next, e.Prev = indexerNull, l.Tail
	if l.Tail != indexerNull {
		es.E[l.Tail].Next = i
		l.Tail = i
	} else {
		l.Head, l.Tail = i, i
	}
	if !e.Sentinel {
		l.NrElts++
	}
}

func (es *entrySpace) addBefore(l *ilist, old, i uint32) {
	prev := es.E[old].Prev
	if prev == indexerNull {
		es.addHead(l, i)
		return
	}
	e := &es.E[i]
	e.Prev, e.Next = prev, old
	es.E[prev].Next = i
	es.E[old].Prev = i
	if !e.Sentinel {
		l.NrElts++
	}
}

func (es *entrySpace) del(l *ilist, i uint32) {
	e := &es.E[i]
	if e.Prev != indexerNull {
		es.E[e.Prev].Next = e.Next
	} else {
		l.Head = e.Next
	}
	if e.Next != indexerNull {
		es.E[e.Next].Prev = e.Prev
	} else {
		l.Tail = e.Prev
	}
	if !e.Sentinel {
		l.NrElts--
	}
}

// popHead and popTail take the first (last) entry that is no sentinel.
func (es *entrySpace) popHead(l *ilist) uint32 {
	for i := l.Head; i != indexerNull; i = es.E[i].Next {
		if !es.E[i].Sentinel {
			es.del(l, i)
			return i
		}
	}
	return indexerNull
}

func (es *entrySpace) popTail(l *ilist) uint32 {
	for i := l.Tail; i != indexerNull; i = es.E[i].Prev {
		if !es.E[i].Sentinel {
			es.del(l, i)
			return i
		}
	}
	return indexerNull
}

// maxLevels is MAX_LEVELS.
const maxLevels = 64

// queue is struct queue: one list per level, entries move up when hit and
// are taken from the bottom.
type queue struct {
	NrElts           uint32
	NrLevels         uint32
	Qs               [maxLevels]ilist
	LastTargetNrElts uint32
	NrTopLevels      uint32
	NrInTopLevels    uint32
	TargetCount      [maxLevels]uint32
}

func newQueue(nrLevels uint32) queue {
	q := queue{NrLevels: nrLevels}
	for i := range q.Qs {
		q.Qs[i] = newIlist()
	}
	return q
}

func (es *entrySpace) qPush(q *queue, i uint32) {
	if !es.E[i].Sentinel {
		q.NrElts++
	}
	es.addTail(&q.Qs[es.E[i].Level], i)
}

func (es *entrySpace) qPushFront(q *queue, i uint32) {
	if !es.E[i].Sentinel {
		q.NrElts++
	}
	es.addHead(&q.Qs[es.E[i].Level], i)
}

func (es *entrySpace) qPushBefore(q *queue, old, i uint32) {
	if !es.E[i].Sentinel {
		q.NrElts++
	}
	es.addBefore(&q.Qs[es.E[i].Level], old, i)
}

func (es *entrySpace) qDel(q *queue, i uint32) {
	es.del(&q.Qs[es.E[i].Level], i)
	if !es.E[i].Sentinel {
		q.NrElts--
	}
}

// qPeek is q_peek: the first entry of the lowest level below maxLevel;
// a sentinel stops the search of its level unless canCrossSentinel.
func (es *entrySpace) qPeek(q *queue, maxLevel uint32, canCrossSentinel bool) uint32 {
	maxLevel = min(maxLevel, q.NrLevels)
	for level := uint32(0); level < maxLevel; level++ {
		for i := q.Qs[level].Head; i != indexerNull; i = es.E[i].Next {
			if es.E[i].Sentinel {
				if canCrossSentinel {
					continue
				}
				break
			}
			return i
		}
	}
	return indexerNull
}

func (es *entrySpace) qPop(q *queue) uint32 {
	i := es.qPeek(q, q.NrLevels, true)
	if i != indexerNull {
		es.qDel(q, i)
	}
	return i
}

func (es *entrySpace) redistPopFrom(q *queue, level uint32) uint32 {
	for ; level < q.NrLevels; level++ {
		for i := q.Qs[level].Head; i != indexerNull; i = es.E[i].Next {
			if !es.E[i].Sentinel {
				es.del(&q.Qs[es.E[i].Level], i)
				return i
			}
		}
	}
	return indexerNull
}

func safeDiv(n, d uint32) uint32 {
	if d == 0 {
		return 0
	}
	return n / d
}

func safeMod(n, d uint32) uint32 {
	if d == 0 {
		return 0
	}
	return n % d
}

func (q *queue) setTargetsSubrange(nrElts, lbegin, lend uint32) {
	nrLevels := lend - lbegin
	per, rem := safeDiv(nrElts, nrLevels), safeMod(nrElts, nrLevels)
	for level := lbegin; level < lend; level++ {
		if level < lbegin+rem {
			q.TargetCount[level] = per + 1
		} else {
			q.TargetCount[level] = per
		}
	}
}

func (q *queue) setTargets() {
	if q.LastTargetNrElts == q.NrElts {
		return
	}
	q.LastTargetNrElts = q.NrElts
	if q.NrTopLevels > q.NrLevels {
		q.setTargetsSubrange(q.NrElts, 0, q.NrLevels)
		return
	}
	q.setTargetsSubrange(q.NrInTopLevels, q.NrLevels-q.NrTopLevels, q.NrLevels)
	if q.NrInTopLevels < q.NrElts {
		q.setTargetsSubrange(q.NrElts-q.NrInTopLevels, 0, q.NrLevels-q.NrTopLevels)
	} else {
		q.setTargetsSubrange(0, 0, q.NrLevels-q.NrTopLevels)
	}
}

// qRedistribute is q_redistribute: levels filled to their target counts
// from above, overflow moved up.
func (es *entrySpace) qRedistribute(q *queue) {
	q.setTargets()
	for level := uint32(0); level < q.NrLevels-1; level++ {
		l := &q.Qs[level]
		target := q.TargetCount[level]
		for l.NrElts < target {
			i := es.redistPopFrom(q, level+1)
			if i == indexerNull {
				break
			}
			es.E[i].Level = uint8(level)
			es.addTail(l, i)
		}
		above := &q.Qs[level+1]
		for l.NrElts > target {
			i := es.popTail(l)
			if i == indexerNull {
				break
			}
			es.E[i].Level = uint8(level + 1)
			es.addTail(above, i)
		}
	}
}

// qRequeue is q_requeue: e moves up extraLevels, swapping places with an
// entry of its new level, which goes down to e's level (before s1 or s2
// when given, by the sentinels it had behind it).
func (es *entrySpace) qRequeue(q *queue, i uint32, extraLevels uint32, s1, s2 uint32) {
	e := &es.E[i]
	newLevel := min(q.NrLevels-1, uint32(e.Level)+extraLevels)
	if extraLevels != 0 && uint32(e.Level) < q.NrLevels-1 {
		passed := 0
		de := q.Qs[newLevel].Head
		for de != indexerNull && es.E[de].Sentinel {
			passed++
			de = es.E[de].Next
		}
		if de != indexerNull {
			es.qDel(q, de)
			es.E[de].Level = e.Level
			switch {
			case s1 != indexerNull && passed == 0:
				es.qPushBefore(q, s1, de)
			case s1 != indexerNull && passed == 1:
				es.qPushBefore(q, s2, de)
			default:
				es.qPush(q, de)
			}
		}
	}
	es.qDel(q, i)
	es.E[i].Level = uint8(newLevel)
	es.qPush(q, i)
}

// Hit statistics (struct stats) in 8-bit fixed point.
const (
	fpShift   = 8
	sixteenth = 1 << (fpShift - 4)
	eighth    = 1 << (fpShift - 3)
)

type performance int

const (
	qPoor performance = iota
	qFair
	qWell
)

type hitStats struct{ HitThreshold, Hits, Misses uint32 }

func newHitStats(nrLevels uint32) hitStats { return hitStats{HitThreshold: nrLevels * 3 / 4} }

func (s *hitStats) reset() { s.Hits, s.Misses = 0, 0 }

func (s *hitStats) levelAccessed(level uint8) {
	if uint32(level) >= s.HitThreshold {
		s.Hits++
	} else {
		s.Misses++
	}
}

func (s *hitStats) miss() { s.Misses++ }

func (s *hitStats) assess() performance {
	confidence := safeDiv(s.Hits<<fpShift, s.Hits+s.Misses)
	switch {
	case confidence < sixteenth:
		return qPoor
	case confidence < eighth:
		return qFair
	default:
		return qWell
	}
}

// entryAlloc is struct entry_alloc: the entries [Begin, Begin+n) of the
// space, the free ones on a list.
type entryAlloc struct {
	Begin       uint32
	NrAllocated uint32
	Free        ilist
}

func (es *entrySpace) initAllocator(begin, end uint32) entryAlloc {
	ea := entryAlloc{Begin: begin, Free: newIlist()}
	for i := begin; i != end; i++ {
		es.addTail(&ea.Free, i)
	}
	return ea
}

func (es *entrySpace) initEntry(i uint32) {
	e := &es.E[i]
	e.Next, e.Prev = indexerNull, indexerNull
	e.Level = 0
	e.Dirty = true
	e.Allocated = true
	e.Sentinel = false
	e.PendingWork = false
	e.InHash = false
}

func (es *entrySpace) allocEntry(ea *entryAlloc) uint32 {
	if ea.Free.empty() {
		return indexerNull
	}
	i := es.popHead(&ea.Free)
	es.initEntry(i)
	ea.NrAllocated++
	return i
}

func (es *entrySpace) allocParticular(ea *entryAlloc, idx uint32) uint32 {
	i := ea.Begin + idx
	es.del(&ea.Free, i)
	es.initEntry(i)
	ea.NrAllocated++
	return i
}

func (es *entrySpace) freeEntry(ea *entryAlloc, i uint32) {
	ea.NrAllocated--
	es.E[i].Allocated = false
	es.addTail(&ea.Free, i)
}

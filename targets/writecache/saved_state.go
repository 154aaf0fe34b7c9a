package writecache

import (
	"encoding/json"
	"syscall"
	"time"
)

// savedState is what the kernel keeps in struct dm_writecache while the
// table is live and the cache device does not hold: the counters, the
// LRU order and ages of the used blocks (which decide what is written back
// first), the free cursor (which block the next write takes), the flags
// messages set, the error, and when the origin last saw a write around
// (pause_writeback). Uncommitted blocks are not kept: StopBackground
// commits them first.
type savedState struct {
	Stats           stats      `json:"stats"`
	LRU             [][3]int64 `json:"lru"` // head first: {first block, count (descending), age unix ms}
	FreeCursor      int32      `json:"free_cursor"`
	FlushOnSuspend  bool       `json:"flush_on_suspend"`
	Cleaner         bool       `json:"cleaner"`
	Errno           int        `json:"errno"`
	LastOriginWrite int64      `json:"last_origin_write_unix_ns"`
}

// SaveState is targets.StateSaver.
func (w *Writecache) SaveState() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := savedState{Stats: w.stats, FreeCursor: w.idx.cursor, FlushOnSuspend: w.flushOnSuspend,
		Cleaner: w.cleaner, Errno: int(w.errno), LastOriginWrite: w.lastOriginWrite.UnixNano()}
	if w.loaded {
		s.LRU = w.lruRuns()
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// lruRuns encodes the LRU list as runs of descending block numbers of one
// age (in ms).
func (w *Writecache) lruRuns() [][3]int64 {
	x := &w.idx
	var runs [][3]int64
	for e := x.head; e != none; e = x.next[e] {
		ageMs := x.age[e] / int64(time.Millisecond)
		if n := len(runs); n > 0 {
			r := &runs[n-1]
			if r[0]-r[1] == int64(e) && r[2] == ageMs {
				r[1]++
				continue
			}
		}
		runs = append(runs, [3]int64{int64(e), 1, ageMs})
	}
	return runs
}

// restore rebuilds a restored table's in-core state: the index from the
// cache device as a resume would (the table was live or suspended there),
// then what SaveState kept. An LRU list that does not name exactly the
// used blocks is ignored (the resume's order stays).
func (w *Writecache) restore() {
	var s savedState
	ok := w.ctx.Saved != "" && json.Unmarshal([]byte(w.ctx.Saved), &s) == nil
	w.mu.Lock()
	defer w.mu.Unlock()
	if ok {
		w.stats = s.Stats
		if s.Cleaner {
			w.activateCleaner()
		}
		w.flushOnSuspend = s.FlushOnSuspend // a suspend may have used the cleaner's
		if s.LastOriginWrite != 0 {
			w.lastOriginWrite = time.Unix(0, s.LastOriginWrite)
		}
	}
	w.suspended = w.ctx.Suspended
	if w.ctx.Inactive {
		return
	}
	w.load()
	if ok {
		if s.Errno != 0 && w.errno == 0 {
			w.errno = syscall.Errno(s.Errno)
		}
		w.restoreLRU(s.LRU)
		if s.FreeCursor >= 0 && uint64(s.FreeCursor) < w.nBlocks && w.idx.isFree(s.FreeCursor) {
			w.idx.cursor = s.FreeCursor
		}
	}
	if !w.suspended {
		w.mu.Unlock()
		w.startWorker()
		w.mu.Lock()
	}
}

// restoreLRU relinks the LRU list in the saved order.
func (w *Writecache) restoreLRU(runs [][3]int64) {
	x := &w.idx
	var order []int32
	var ages []int64
	seen := make(map[int32]bool)
	for _, r := range runs {
		for k := int64(0); k < r[1]; k++ {
			e := r[0] - k
			if e < 0 || uint64(e) >= w.nBlocks || seen[int32(e)] || x.isFree(int32(e)) {
				return
			}
			seen[int32(e)] = true
			order = append(order, int32(e))
			ages = append(ages, r[2]*int64(time.Millisecond))
		}
	}
	if len(order) != len(x.tree) {
		return
	}
	x.head, x.tail = none, none
	for i := len(order) - 1; i >= 0; i-- {
		x.pushHead(order[i])
		x.age[order[i]] = ages[i]
	}
}

package raid

import (
	"fmt"
	"slices"
	"sync"
)

// wbCache is journal_mode writeback's cache (md's r5c): the pages of
// writes that are complete once their data alone is in the journal
// (data-only stripes), kept until they are written out to the members
// with their parity: when the cache holds more stripe heads than the
// stripe cache (stripe_cache), before the log starts again at 0, before
// a write that is not cached touches their stripes, and at a clean stop
// or the end of the process. Only whole pages of a row whose members all
// hold it are cached (md writes a stripe out when a write covers part
// of a page), full stripes written through; reads lay the cached pages
// over what the members hold.
//
// A write-out reads the stripe's other pages, computes the parity and
// writes the data and parity pages, without logging the parity as md
// does: until the log starts again its data-only stripes stay in the
// chain, so a crash in the middle is recovered as a data-only stripe
// (the parity computed again over the members' other data).
//
// Concurrency: mu guards stripes and is held through the write-out of
// each run of stripe heads. No one else touches a cached stripe's pages
// on the members meanwhile: a write that is not cached writes its
// stripes out first, under its row's lock, and holds that lock until its
// members are written, so no cached stripe lies in its pages; readers
// take the cached pages before they read the members (a page written out
// meanwhile is the same); a read that rebuilds a failed member's pages
// holds mu while it does; the sync thread's steps exclude writes (ioMu),
// and it stops before a clean stop writes the cache out. Lock order: a
// row's lock, then the journal's mu, then mu.
type wbCache struct {
	r       *Raid
	mu      sync.Mutex
	stripes map[uint64]map[int][]byte // a stripe head's sector on the members -> member -> its new page
}

func newWBCache(r *Raid) *wbCache {
	return &wbCache{r: r, stripes: make(map[uint64]map[int][]byte)}
}

// cacheable reports whether a row's write goes to the cache: whole
// pages, every member holding the row's pages written, and not every
// data chunk written over the same pages (full stripes are written
// through: they need no read, and md writes them out soon after).
func (c *wbCache) cacheable(w *rowWrite) bool {
	r := c.r
	full := len(w.parts) == len(w.rw.data)
	for _, pt := range w.parts {
		if pt.offSectors%pageSectors != 0 || uint64(len(pt.p))%logBlockBytes != 0 {
			return false
		}
		full = full && pt.offSectors == w.parts[0].offSectors && len(pt.p) == len(w.parts[0].p)
	}
	if full {
		return false
	}
	lo, hi := r.pageSpan(w.parts)
	for i := range r.members {
		if !r.holds(i, w.rw.stripe*r.chunkSectors+lo, hi-lo) {
			return false
		}
	}
	return true
}

// dataOnlyStripes is what md logs for a cached row write: per stripe
// head, the new page of each data member written, no parity.
func (r *Raid) dataOnlyStripes(w *rowWrite) []logStripe {
	lo, hi := r.pageSpan(w.parts)
	var out []logStripe
	for _, sg := range r.segments(w.rw, w.parts, lo, hi) {
		if !sg.written {
			continue
		}
		bufs := make([][]byte, len(r.members))
		for _, pt := range w.parts {
			if pt.offSectors < sg.hi && pt.endSectors() > sg.lo {
				bufs[w.rw.data[pt.k]] = pt.p[(sg.lo-pt.offSectors)*sectorBytes : (sg.hi-pt.offSectors)*sectorBytes]
			}
		}
		out = append(out, r.logStripes(w.rw, w.parts, sg, bufs, false)...)
	}
	return out
}

// put caches the logged stripes' data pages (copies: the write's buffer
// goes back to its caller).
func (c *wbCache) put(stripes []logStripe) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range stripes {
		pages := c.stripes[s.sector]
		if pages == nil {
			pages = make(map[int][]byte)
			c.stripes[s.sector] = pages
		}
		for _, d := range s.data {
			_, member, _ := c.r.dataPlace(d.arraySector)
			pages[member] = append([]byte(nil), d.page...)
		}
	}
}

// cachedPage is a cached page of one member: its sector on the member.
type cachedPage struct {
	sector uint64
	page   []byte
}

// lookup returns the cached pages of the member over lenSectors from its
// sector at (pages are never changed once cached: a later write caches a
// new one).
func (c *wbCache) lookup(member int, at, lenSectors uint64) []cachedPage {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.stripes) == 0 {
		return nil
	}
	var out []cachedPage
	for pg := at / pageSectors * pageSectors; pg < at+lenSectors; pg += pageSectors {
		if b, ok := c.stripes[pg][member]; ok {
			out = append(out, cachedPage{pg, b})
		}
	}
	return out
}

// overlay copies the cached pages over p, the member's bytes from its
// sector at.
func overlayCached(p []byte, at uint64, pages []cachedPage) {
	end := at + uint64(len(p))/sectorBytes
	for _, cp := range pages {
		s, e := max(cp.sector, at), min(cp.sector+pageSectors, end)
		copy(p[(s-at)*sectorBytes:(e-at)*sectorBytes], cp.page[(s-cp.sector)*sectorBytes:])
	}
}

// writeOutRow writes out the cached stripes of the row's pages
// [lo, hi) of its chunks. Row lock held.
func (c *wbCache) writeOutRow(rw *row, lo, hi uint64) error {
	var sectors []uint64
	for pg := lo; pg < hi; pg += pageSectors {
		sectors = append(sectors, rw.stripe*c.r.chunkSectors+pg)
	}
	return c.writeOut(sectors)
}

// writeOutAll writes out every stripe cached when it is called.
func (c *wbCache) writeOutAll() error {
	c.mu.Lock()
	sectors := make([]uint64, 0, len(c.stripes))
	for s := range c.stripes {
		sectors = append(sectors, s)
	}
	c.mu.Unlock()
	slices.Sort(sectors)
	return c.writeOut(sectors)
}

// writeOut writes out the cached stripes among the sectors (sorted), in
// runs of stripe heads that follow each other in one row, mu taken for
// each run (writers caching pages meanwhile wait for one run, not all).
func (c *wbCache) writeOut(sectors []uint64) error {
	r := c.r
	for len(sectors) > 0 {
		c.mu.Lock()
		for len(sectors) > 0 && c.stripes[sectors[0]] == nil {
			sectors = sectors[1:]
		}
		n := min(1, len(sectors))
		for n < len(sectors) && sectors[n] == sectors[n-1]+pageSectors && sectors[n]/r.chunkSectors == sectors[0]/r.chunkSectors &&
			c.stripes[sectors[n]] != nil {
			n++
		}
		var err error
		if n > 0 {
			err = c.writeOutRun(sectors[:n])
		}
		c.mu.Unlock()
		if err != nil {
			return fmt.Errorf("writeback cache: stripes at sector %d: %w", sectors[0], err)
		}
		sectors = sectors[n:]
	}
	return nil
}

// writeOutRun writes out a run of cached stripe heads of one row, as
// md's write-out of a cached stripe does (and the replay of a data-only
// stripe): the row's other pages read, or rebuilt (none when the cache
// holds every data page), the cached pages laid over them, the parity
// computed; then the cached pages and the parity are written to the
// members that take I/O, and the stripes forgotten. mu held.
func (c *wbCache) writeOutRun(run []uint64) error {
	r := c.r
	rw := r.rowOf(run[0] / r.chunkSectors * uint64(r.dataStripes))
	off, lenBytes := run[0]%r.chunkSectors, len(run)*logBlockBytes
	whole := true
	for _, s := range run {
		whole = whole && len(c.stripes[s]) == len(rw.data)
	}
	var bufs [][]byte
	if whole {
		bufs = make([][]byte, len(r.members))
		for m := range bufs {
			bufs[m] = make([]byte, lenBytes)
		}
	} else {
		var err error
		if bufs, err = r.readRow(rw, off, uint64(len(run))*pageSectors); err != nil {
			return err
		}
	}
	for i, s := range run {
		for m, pg := range c.stripes[s] {
			copy(bufs[m][i*logBlockBytes:], pg)
		}
	}
	r.computeParity(rw, bufs)
	parallel(len(r.members), func(m int) {
		if !r.usable(m) {
			return
		}
		parity := m == rw.pd || m == rw.qd
		for i := 0; i < len(run); {
			if _, ok := c.stripes[run[i]][m]; !ok && !parity {
				i++
				continue
			}
			n := 1
			for ; i+n < len(run); n++ {
				if _, ok := c.stripes[run[i+n]][m]; !ok && !parity {
					break
				}
			}
			if _, err := r.members[m].data.WriteAt(bufs[m][i*logBlockBytes:(i+n)*logBlockBytes], int64(run[i])*sectorBytes); err != nil {
				r.fail(m)
				return
			}
			i += n
		}
	})
	for _, s := range run {
		delete(c.stripes, s)
	}
	return nil
}

// full reports whether the cache holds more stripe heads than the
// stripe cache.
func (c *wbCache) full() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.stripes) > c.r.stripeCache
}

package raid

import (
	"slices"
	"sync"
)

// writeJournaled is writethrough's order for a write's rows, as md's
// io_unit gathers stripe heads (writeback's too, its cached rows' data
// logged alone and cached instead of written): the rows are taken in
// groups whose log fits in the journal's budget (a quarter of it); a
// group's rows are locked together, prepared, and their stripes logged
// in one append (one flush, shared with the writers gathered with it),
// then the members are written. A row whose stripes alone pass the
// budget is logged in several appends, each one's members written
// before the next is logged, so that a log that fills up can start
// again. A writeback cache holding more than stripe_cache stripe heads
// is written out first.
func (r *Raid) writeJournaled(ws []*rowWrite) error {
	if r.wb != nil && r.wb.full() {
		if err := r.wb.writeOutAll(); err != nil {
			return err
		}
	}
	budget := r.jr.budgetSectors(len(r.members))
	for len(ws) > 0 {
		n, est := 1, r.logBound(ws[0])
		for n < len(ws) && est+r.logBound(ws[n]) <= budget {
			est += r.logBound(ws[n])
			n++
		}
		if err := r.writeJournaledGroup(ws[:n], budget); err != nil {
			return err
		}
		ws = ws[n:]
	}
	return nil
}

// logBound is the most journal space a row's write logs: per page
// touched, a page of each part and of each parity member, and a meta
// block.
func (r *Raid) logBound(w *rowWrite) uint64 {
	lo, hi := r.pageSpan(w.parts)
	return (hi-lo)*uint64(len(w.parts)+r.rt.parityDevs) + logBlockSectors
}

// stripeAt names a logged stripe of a group: its row's index in the
// group and its index among the row's stripes.
type stripeAt struct{ row, stripe int }

// writeJournaledGroup prepares a group of rows, logs their stripes in
// appends of at most budget sectors and writes the members of each.
// The rows' locks are taken.
func (r *Raid) writeJournaledGroup(ws []*rowWrite, budget uint64) error {
	defer r.lockRows(ws)()
	for _, w := range ws {
		if r.wb != nil {
			if r.wb.cacheable(w) {
				w.cached, w.logged = true, r.dataOnlyStripes(w)
				continue
			}
			lo, hi := r.pageSpan(w.parts)
			if err := r.wb.writeOutRow(w.rw, lo, hi); err != nil {
				return err
			}
		}
		if err := r.prepareRow(w); err != nil {
			return err
		}
	}
	var batch []logStripe
	var size logSize
	from := stripeAt{}
	for wi, w := range ws {
		for si := range w.logged {
			if len(batch) > 0 && size.with(w.logged[si:si+1]) > budget {
				if err := r.logAndWrite(ws, from, stripeAt{wi, si}, batch, budget); err != nil {
					return err
				}
				batch, size, from = nil, logSize{}, stripeAt{wi, si}
			}
			batch = append(batch, w.logged[si])
			size.add(&w.logged[si])
		}
	}
	if len(batch) > 0 {
		if err := r.logAndWrite(ws, from, stripeAt{len(ws), 0}, batch, budget); err != nil {
			return err
		}
	}
	return r.writeOutcome()
}

// logAndWrite logs the batch of stripes, those of the group from the
// stripe from up to (not including) to, then writes their pages of the
// members (or caches them: writeback), row by row at once.
func (r *Raid) logAndWrite(ws []*rowWrite, from, to stripeAt, batch []logStripe, budget uint64) error {
	if err := r.jr.append(batch, budget); err != nil {
		return err
	}
	last := to.row
	if to.stripe == 0 {
		last--
	}
	parallel(last-from.row+1, func(i int) {
		wi := from.row + i
		w := ws[wi]
		first, end := 0, len(w.logged)
		if wi == from.row {
			first = from.stripe
		}
		if wi == to.row {
			end = to.stripe
		}
		if first >= end {
			return
		}
		if w.cached {
			r.wb.put(w.logged[first:end])
			return
		}
		base := w.rw.stripe * r.chunkSectors
		r.writeMembers(w.rw, w.outs, w.logged[first].sector-base, w.logged[end-1].sector-base+pageSectors, false)
	})
	r.jr.done()
	return nil
}

// lockRows takes the row locks of a group of rows, each once and in
// order (rows hash onto shared locks: two writers taking theirs in
// another order could each wait for the other), and returns their
// unlock.
func (r *Raid) lockRows(ws []*rowWrite) func() {
	var idx []int
	for _, w := range ws {
		idx = append(idx, int(w.rw.stripe%stripeLocks))
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	locked := make([]*sync.Mutex, len(idx))
	for i, k := range idx {
		locked[i] = &r.stripes[k]
		locked[i].Lock()
	}
	return func() {
		for _, mu := range locked {
			mu.Unlock()
		}
	}
}

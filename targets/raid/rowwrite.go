package raid

import (
	"errors"

	"github.com/gdmsetup/gdmsetup/targets"
	"github.com/gdmsetup/gdmsetup/targets/gf256"
)

// A raid4/5/6 write, as raid5_make_request and handle_stripe_dirtying
// do it: the write is cut into its rows; in each row, page by page (md's
// stripe heads), the data chunks the write fills wholly, partly or not
// at all decide between read-modify-write (read the old data being
// written and the parity, fold the difference into P and Q) and
// reconstruct-write (read the data not overwritten, compute P and Q
// afresh; no read at all for a full stripe), the cheaper in reads, a tie
// going to reconstruct-write; an array not in sync there always
// reconstructs. A row with a member missing or being recovered is read
// whole (rebuilt where needed) and its parity computed afresh. The
// members' bytes are md's even where the parity was inconsistent before.

// rowPart is what a write puts in one data chunk of a row: from offSectors
// into the chunk, the bytes p.
type rowPart struct {
	k          int // the data chunk's index in the row
	offSectors uint64
	p          []byte
}

func (pt *rowPart) endSectors() uint64 { return pt.offSectors + uint64(len(pt.p))/sectorBytes }

// rowWrite is one row's share of a write: its parts and, once prepared,
// its member writes and the stripes md logs for it (journaled arrays),
// or, cached (writeback), its data-only stripes.
type rowWrite struct {
	rw     *row
	parts  []rowPart
	outs   []memberWrite
	logged []logStripe
	cached bool
}

// writeRows writes p at the array's sector, row by row, the members'
// writes with FUA when fua; a journaled array logs many rows at once
// (writeJournaled).
func (r *Raid) writeRows(p []byte, sector uint64, fua bool) error {
	ws := r.cutRows(p, sector)
	if r.jr != nil {
		return r.writeJournaled(ws)
	}
	for _, w := range ws {
		if err := r.writeRow(w, fua); err != nil {
			return err
		}
	}
	return nil
}

// cutRows cuts p at the array's sector into its rows' parts.
func (r *Raid) cutRows(p []byte, sector uint64) []*rowWrite {
	dataDisks := uint64(len(r.members) - r.rt.parityDevs)
	var ws []*rowWrite
	for len(p) > 0 {
		chunk := sector / r.chunkSectors
		w := &rowWrite{rw: r.rowOf(chunk)}
		rowEnd := (chunk/dataDisks + 1) * dataDisks * r.chunkSectors
		for len(p) > 0 && sector < rowEnd {
			off := sector % r.chunkSectors
			n := min(uint64(len(p))/sectorBytes, r.chunkSectors-off)
			w.parts = append(w.parts, rowPart{int(sector / r.chunkSectors % dataDisks), off, p[:n*sectorBytes]})
			p, sector = p[n*sectorBytes:], sector+n
		}
		ws = append(ws, w)
	}
	return ws
}

// writeRow writes a row's parts and its parity, with FUA when fua (md
// sets R5_WantFUA on the stripe's data and parity). Row lock taken.
func (r *Raid) writeRow(w *rowWrite, fua bool) error {
	defer r.rowLock(w.rw)()
	if err := r.prepareRow(w); err != nil {
		return err
	}
	r.writeMembers(w.rw, w.outs, 0, r.chunkSectors, fua)
	return r.writeOutcome()
}

// writeOutcome is a write's error once its members are written: EIO when
// more members failed than the parity covers.
func (r *Raid) writeOutcome() error {
	if r.failedCount() > r.rt.parityDevs {
		return errIO
	}
	return nil
}

// pageSpan is the run of whole pages of the row's chunks the parts touch.
func (r *Raid) pageSpan(parts []rowPart) (lo, hi uint64) {
	lo = r.chunkSectors
	for _, pt := range parts {
		lo = min(lo, pt.offSectors/pageSectors*pageSectors)
		hi = max(hi, min((pt.endSectors()+pageSectors-1)/pageSectors*pageSectors, r.chunkSectors))
	}
	return lo, hi
}

// prepareRow computes what a row's write puts on each member, the
// degraded way when a member is missing, being recovered, or fails a
// read now. Row lock held.
func (r *Raid) prepareRow(w *rowWrite) error {
	lo, hi := r.pageSpan(w.parts)
	healthy := true
	for i := range r.members {
		healthy = healthy && r.holds(i, w.rw.stripe*r.chunkSectors+lo, hi-lo)
	}
	err := r.prepareRowWith(w, lo, hi, healthy)
	if err == errMemberFailed {
		err = r.prepareRowWith(w, lo, hi, false)
	}
	return err
}

// errMemberFailed is a read of a healthy row that failed: its member is
// failed now and the row is written again the degraded way.
var errMemberFailed = errors.New("a member failed")

func (r *Raid) prepareRowWith(w *rowWrite, lo, hi uint64, healthy bool) error {
	rw, parts := w.rw, w.parts
	segs := r.segments(rw, parts, lo, hi)
	parity := []int{rw.pd}
	if rw.qd >= 0 {
		parity = append(parity, rw.qd)
	}
	w.outs, w.logged = nil, nil
	for _, pt := range parts {
		w.outs = append(w.outs, memberWrite{rw.data[pt.k], pt.p, pt.offSectors})
	}
	for _, sg := range segs {
		if !sg.written {
			continue
		}
		var bufs [][]byte
		var err error
		switch {
		case !healthy:
			bufs, err = r.readRow(rw, sg.lo, sg.hi-sg.lo)
			if err == nil {
				overlay(rw, bufs, parts, sg)
				r.computeParity(rw, bufs)
			}
		case sg.rmw:
			bufs, err = r.readModifyWrite(rw, parts, sg)
		default:
			bufs, err = r.reconstructWrite(rw, parts, sg)
		}
		if err != nil {
			return err
		}
		for _, i := range parity {
			w.outs = append(w.outs, memberWrite{i, bufs[i], sg.lo})
		}
		if r.jr != nil {
			w.logged = append(w.logged, r.logStripes(rw, parts, sg, bufs, true)...)
		}
	}
	return nil
}

// memberWrite is a row's write to one member: buf at atSect sectors into
// the member's chunk of the row.
type memberWrite struct {
	disk   int
	buf    []byte
	atSect uint64
}

// writeMembers writes, at once, what of the row's member writes falls in
// [lo, hi) of the chunk, with FUA when fua; a member whose write fails is
// failed.
func (r *Raid) writeMembers(rw *row, outs []memberWrite, lo, hi uint64, fua bool) {
	base := rw.stripe * r.chunkSectors
	parallel(len(outs), func(i int) {
		o := outs[i]
		s, e := max(o.atSect, lo), min(o.atSect+uint64(len(o.buf))/sectorBytes, hi)
		if s >= e || !r.usable(o.disk) {
			return
		}
		b := o.buf[(s-o.atSect)*sectorBytes : (e-o.atSect)*sectorBytes]
		if err := targets.DevWrite(r.members[o.disk].data, b, int64(base+s)*sectorBytes, fua); err != nil {
			r.fail(o.disk)
		}
	})
}

// segment is a run of pages [lo, hi) of a row's chunks that the write
// covers the same way, and how md writes them.
type segment struct {
	lo, hi  uint64
	rmw     bool
	written bool // some data chunk is written there
}

// segments cuts [lo, hi) into runs of pages with the same coverage and
// picks each run's method as handle_stripe_dirtying does for a stripe
// head whose pages are not cached.
func (r *Raid) segments(rw *row, parts []rowPart, lo, hi uint64) []segment {
	dataDisks := len(rw.data)
	parityDevs := r.rt.parityDevs
	r.mu.Lock()
	forceRCW := r.recoveryCp != maxSector && rw.stripe*r.chunkSectors+lo >= r.recoveryCp
	r.mu.Unlock()
	cover := func(pg uint64) (written, full int, key string) {
		c := make([]byte, dataDisks)
		for _, pt := range parts {
			switch {
			case pt.endSectors() <= pg || pt.offSectors >= pg+pageSectors:
			case pt.offSectors <= pg && pt.endSectors() >= pg+pageSectors:
				c[pt.k] = 2
			default:
				c[pt.k] = max(c[pt.k], 1)
			}
		}
		for _, v := range c {
			if v > 0 {
				written++
			}
			if v == 2 {
				full++
			}
		}
		return written, full, string(c)
	}
	var segs []segment
	prev := ""
	for pg := lo; pg < hi; pg += pageSectors {
		written, full, key := cover(pg)
		if len(segs) > 0 && key == prev {
			segs[len(segs)-1].hi = pg + pageSectors
			continue
		}
		rmw, rcw := written+parityDevs, dataDisks-full
		segs = append(segs, segment{lo: pg, hi: pg + pageSectors, written: written > 0,
			rmw: !forceRCW && rmw < rcw && rmw > 0})
		prev = key
	}
	return segs
}

// overlay copies the parts' bytes inside the segment into the data
// buffers (each the segment's length, indexed by member).
func overlay(rw *row, bufs [][]byte, parts []rowPart, sg segment) {
	for _, pt := range parts {
		s, e := max(sg.lo, pt.offSectors), min(sg.hi, pt.endSectors())
		if s >= e {
			continue
		}
		copy(bufs[rw.data[pt.k]][(s-sg.lo)*sectorBytes:], pt.p[(s-pt.offSectors)*sectorBytes:(e-pt.offSectors)*sectorBytes])
	}
}

// reconstructWrite reads the data chunks the segment does not overwrite
// wholly, lays the write over them and computes the parity.
func (r *Raid) reconstructWrite(rw *row, parts []rowPart, sg segment) ([][]byte, error) {
	n := (sg.hi - sg.lo) * sectorBytes
	bufs := make([][]byte, len(r.members))
	var partial []rowPart
	for _, pt := range parts {
		if pt.offSectors <= sg.lo && pt.endSectors() >= sg.hi {
			// a chunk the segment overwrites: its parity comes from the
			// write's own bytes
			bufs[rw.data[pt.k]] = pt.p[(sg.lo-pt.offSectors)*sectorBytes : (sg.hi-pt.offSectors)*sectorBytes]
		} else {
			partial = append(partial, pt)
		}
	}
	if err := r.readMembers(rw, bufs, sg, func(i int) bool { return bufs[i] == nil && i != rw.pd && i != rw.qd }); err != nil {
		return nil, err
	}
	bufs[rw.pd] = make([]byte, n)
	if rw.qd >= 0 {
		bufs[rw.qd] = make([]byte, n)
	}
	overlay(rw, bufs, partial, sg)
	r.computeParity(rw, bufs)
	return bufs, nil
}

// readModifyWrite reads the old data of the chunks written and the
// parity, and folds each chunk's change into P (and, times g^slot, Q).
func (r *Raid) readModifyWrite(rw *row, parts []rowPart, sg segment) ([][]byte, error) {
	written := make([]bool, len(r.members))
	for _, pt := range parts {
		if pt.offSectors < sg.hi && pt.endSectors() > sg.lo {
			written[rw.data[pt.k]] = true
		}
	}
	bufs := make([][]byte, len(r.members))
	if err := r.readMembers(rw, bufs, sg, func(i int) bool { return written[i] || i == rw.pd || i == rw.qd }); err != nil {
		return nil, err
	}
	old := make(map[int][]byte)
	for i, w := range written {
		if w {
			old[i] = append([]byte(nil), bufs[i]...)
		}
	}
	overlay(rw, bufs, parts, sg)
	for i, o := range old {
		xorInto(o, bufs[i]) // the change
		xorInto(bufs[rw.pd], o)
		if rw.qd >= 0 {
			gf256.MulXor(bufs[rw.qd], o, gf256.Pow(rw.slot[i]))
		}
	}
	return bufs, nil
}

// readMembers reads the segment of the members want picks, at once; a
// failed read fails the member and the write (the next write of the row
// goes the degraded way).
func (r *Raid) readMembers(rw *row, bufs [][]byte, sg segment, want func(int) bool) error {
	errs := make([]error, len(r.members))
	parallel(len(r.members), func(i int) {
		if !want(i) {
			return
		}
		b := make([]byte, (sg.hi-sg.lo)*sectorBytes)
		if _, err := r.members[i].data.ReadAt(b, int64(rw.stripe*r.chunkSectors+sg.lo)*sectorBytes); err != nil {
			r.fail(i)
			errs[i] = err
			return
		}
		bufs[i] = b
	})
	for _, err := range errs {
		if err != nil {
			return errMemberFailed
		}
	}
	return nil
}

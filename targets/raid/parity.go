package raid

import (
	"fmt"

	"github.com/gdmsetup/gdmsetup/targets/gf256"
)

// This file is raid4/5/6's rows: reads, the rebuild of what members do
// not hold, and the parity of a row's data (writes: rowwrite.go).

// rowPiece is where a raid4/5/6 piece lives: its row, the member of its
// data chunk and its place in the chunk.
func (r *Raid) rowPiece(sector uint64) (*row, int, uint64) {
	chunk, off := sector/r.chunkSectors, sector%r.chunkSectors
	rw := r.rowOf(chunk)
	k := int(chunk % uint64(len(rw.data)))
	return rw, k, off
}

// rowLock locks the row (md's stripe heads are handled one at a time)
// and returns its unlock.
func (r *Raid) rowLock(rw *row) func() {
	mu := &r.stripes[rw.stripe%stripeLocks]
	mu.Lock()
	return mu.Unlock
}

// readParity reads a raid4/5/6 piece from its data member, or rebuilds
// it from the rest of its row when the member does not hold it, with
// writeback's cached pages laid over it (taken before the members are
// read: see wbCache).
func (r *Raid) readParity(p []byte, sector uint64) error {
	rw, k, off := r.rowPiece(sector)
	d := rw.data[k]
	at := rw.stripe*r.chunkSectors + off
	lenSectors := uint64(len(p)) / sectorBytes
	var cached []cachedPage
	if r.wb != nil {
		cached = r.wb.lookup(d, at, lenSectors)
	}
	if err := r.readData(p, rw, d, off); err != nil {
		return err
	}
	overlayCached(p, at, cached)
	return nil
}

// readData reads the member's bytes at off into its chunk of the row,
// rebuilt when it does not hold them (under the row's lock and, with
// writeback, the cache's, so that no write-out changes the row meanwhile).
func (r *Raid) readData(p []byte, rw *row, d int, off uint64) error {
	at := rw.stripe*r.chunkSectors + off
	lenSectors := uint64(len(p)) / sectorBytes
	if r.holds(d, at, lenSectors) {
		if _, err := r.members[d].data.ReadAt(p, int64(at)*sectorBytes); err == nil {
			return nil
		}
		r.fail(d)
	}
	defer r.rowLock(rw)()
	if r.wb != nil {
		r.wb.mu.Lock()
		defer r.wb.mu.Unlock()
	}
	bufs, err := r.readRow(rw, off, lenSectors)
	if err != nil {
		return err
	}
	copy(p, bufs[d])
	return nil
}

// readRow reads the row's members over [off, off+lenSectors) of their
// chunks and rebuilds what failed members, and members not yet recovered
// there, hold; every member's bytes are in the result. Row lock held.
func (r *Raid) readRow(rw *row, off, lenSectors uint64) ([][]byte, error) {
	bufs := make([][]byte, len(r.members))
	parallel(len(r.members), func(i int) {
		if !r.holds(i, rw.stripe*r.chunkSectors+off, lenSectors) {
			return
		}
		b := make([]byte, lenSectors*sectorBytes)
		if _, err := r.members[i].data.ReadAt(b, int64(rw.stripe*r.chunkSectors+off)*sectorBytes); err != nil {
			r.fail(i)
			return
		}
		bufs[i] = b
	})
	if err := r.rebuild(rw, bufs, int(lenSectors*sectorBytes)); err != nil {
		return nil, fmt.Errorf("row %d: %w", rw.stripe, err)
	}
	return bufs, nil
}

// computeParity sets the row's P (and Q) buffers from its data buffers.
func (r *Raid) computeParity(rw *row, bufs [][]byte) {
	p := bufs[rw.pd]
	if rw.qd < 0 {
		clear(p)
		for _, d := range rw.data {
			xorInto(p, bufs[d])
		}
		return
	}
	syndrome(r.bySlot(rw, bufs, -1), p, bufs[rw.qd])
}

// bySlot orders the row's data buffers by their Q syndrome slot, the
// member skip (-1: none) left out as zeros.
func (r *Raid) bySlot(rw *row, bufs [][]byte, skip int) [][]byte {
	n := len(rw.slot) - 2
	for _, s := range rw.slot {
		n = max(n, s+1)
	}
	out := make([][]byte, n)
	for _, d := range rw.data {
		if d != skip {
			out[rw.slot[d]] = bufs[d]
		}
	}
	return out
}

// rebuild fills in the buffers (nil) of the row's failed members from
// the others: one data chunk from P, or from Q without P; two from P and
// Q; a parity chunk computed again. n is the buffers' length.
func (r *Raid) rebuild(rw *row, bufs [][]byte, n int) error {
	var lostData []int
	lostP, lostQ := bufs[rw.pd] == nil, rw.qd >= 0 && bufs[rw.qd] == nil
	for _, d := range rw.data {
		if bufs[d] == nil {
			lostData = append(lostData, d)
		}
	}
	lost := len(lostData)
	if lostP {
		lost++
	}
	if lostQ {
		lost++
	}
	if lost == 0 {
		return nil
	}
	if lost > r.rt.parityDevs {
		return errIO
	}
	for _, d := range lostData {
		bufs[d] = make([]byte, n)
	}
	for _, i := range []int{rw.pd, rw.qd} {
		if i >= 0 && bufs[i] == nil {
			bufs[i] = make([]byte, n)
		}
	}
	switch {
	case len(lostData) == 0:
	case len(lostData) == 1 && !lostP:
		x := lostData[0]
		copy(bufs[x], bufs[rw.pd])
		for _, d := range rw.data {
			if d != x {
				xorInto(bufs[x], bufs[d])
			}
		}
	case len(lostData) == 1:
		// P lost too: D = (Q ^ Q without D) / g^slot
		x := lostData[0]
		pp, qq := make([]byte, n), make([]byte, n)
		syndrome(r.bySlot(rw, bufs, x), pp, qq)
		xorInto(qq, bufs[rw.qd])
		gf256.MulXor(bufs[x], qq, gf256.Inv(gf256.Pow(rw.slot[x])))
	default:
		// two data chunks: Pxy = Dx^Dy, Qxy = g^x Dx ^ g^y Dy
		x, y := lostData[0], lostData[1]
		pxy, qxy := make([]byte, n), make([]byte, n)
		syndrome(r.bySlot(rw, bufs, -1), pxy, qxy)
		xorInto(pxy, bufs[rw.pd])
		xorInto(qxy, bufs[rw.qd])
		gx, gy := gf256.Pow(rw.slot[x]), gf256.Pow(rw.slot[y])
		inv := gf256.Inv(gx ^ gy)
		gf256.MulXor(bufs[x], pxy, gf256.Mul(gy, inv))
		gf256.MulXor(bufs[x], qxy, inv)
		copy(bufs[y], pxy)
		xorInto(bufs[y], bufs[x])
	}
	if lostP || lostQ {
		saveP, saveQ := bufs[rw.pd], []byte(nil)
		if rw.qd >= 0 {
			saveQ = bufs[rw.qd]
		}
		tmpP, tmpQ := make([]byte, n), make([]byte, n)
		if rw.qd >= 0 {
			syndrome(r.bySlot(rw, bufs, -1), tmpP, tmpQ)
		} else {
			for _, d := range rw.data {
				xorInto(tmpP, bufs[d])
			}
		}
		if lostP {
			copy(saveP, tmpP)
		}
		if lostQ {
			copy(saveQ, tmpQ)
		}
	}
	return nil
}

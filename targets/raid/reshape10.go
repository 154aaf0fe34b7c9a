package raid

import "fmt"

// A raid10 reshape (md's raid10 reshape_request) adds members to a near
// layout as a raid4/5/6 reshape does (reshape.go): the array moves chunk
// by chunk from the old geometry (read from the first copy that holds
// it) to every copy in the new one, at the new data offset, forwards.
// Its unit is an array chunk: a chunk's copies may wrap into the next row
// of the new geometry, so a step writes up to two rows past its chunks'
// first one and moves only as many chunks as fit two rows below the
// offsets' distance. The array's sectors, not each member's, count its
// progress, as raid10 counts a resync's. It moves the array md serves
// (the old size); the rest of the new geometry keeps what the members
// held there, its copies made the same by the resync md runs after the
// reshape (raid10_finish_reshape).

// raid10Reshapable reports whether a raid10 layout is one gdmsetup
// reshapes: near copies (md refuses far ones; offset ones are not done).
func raid10Reshapable(layout int) bool { return raid10IsNear(layout) }

// raid10ArraySectors is the array a raid10 geometry of disks members
// holds on devSectors of each, in whole chunks.
func (r *Raid) raid10ArraySectors(g geometry) uint64 {
	copies := uint64(raid10Copies(g.layout))
	return r.devSectors * uint64(g.disks) / copies / g.chunkSectors * g.chunkSectors
}

// raid10ChunksPerStep is how many chunks a step moves: the rows between
// the offsets but two, in chunks of the new geometry.
func (r *Raid) raid10ChunksPerStep() uint64 {
	rs := r.rs
	rows := min(rs.offsetsApart(), syncStepSectors) / rs.new.chunkSectors
	return max(1, (rows-2)*uint64(rs.new.disks)/uint64(raid10Copies(rs.new.layout)))
}

// moveChunks10 moves the array chunks [first, first+n) from the old
// geometry to every copy in the new one, everything read before anything
// is written, the members flushed. ioMu held exclusively.
func (r *Raid) moveChunks10(first, n uint64) error {
	rs := r.rs
	chunk := rs.new.chunkSectors
	data, err := r.readArray10(rs.old, first*chunk, n*chunk)
	if err != nil {
		return err
	}
	g := r.raid10GeoFor(rs.new.disks, rs.new.layout)
	for i := range n {
		b := data[i*chunk*sectorBytes : (i+1)*chunk*sectorBytes]
		for _, l := range r.raid10LocsIn(&g, (first+i)*chunk) {
			at := rs.new.offSectors + l.sector
			if _, err := r.members[l.disk].raw.WriteAt(b, int64(at)*sectorBytes); err != nil {
				r.fail(l.disk)
				return fmt.Errorf("member %d: write at sector %d: %w", l.disk, at, err)
			}
		}
	}
	return r.flushReshaped()
}

// readArray10 reads lenSectors of the array from sector as the raid10
// geometry g lays them out, each chunk's piece from its first copy.
func (r *Raid) readArray10(g geometry, sector, lenSectors uint64) ([]byte, error) {
	geo := r.raid10GeoFor(g.disks, g.layout)
	out := make([]byte, lenSectors*sectorBytes)
	for done := uint64(0); done < lenSectors; {
		s := sector + done
		n := min(lenSectors-done, g.chunkSectors-s%g.chunkSectors)
		l := r.raid10LocsIn(&geo, s)[0]
		b, err := r.readOld(l.disk, g.offSectors+l.sector, n)
		if err != nil {
			return nil, err
		}
		copy(out[done*sectorBytes:], b)
		done += n
	}
	return out, nil
}

// reshapeIO10 is reshapeIO for raid10: a read from the first copy in
// the geometry the position gives the chunk, a write to every copy.
func (r *Raid) reshapeIO10(p []byte, sector uint64, write bool) error {
	rs := r.rs
	for len(p) > 0 {
		g := rs.old
		if rs.moved(sector) {
			g = rs.new
		}
		n := min(uint64(len(p))/sectorBytes, g.chunkSectors-sector%g.chunkSectors)
		piece := p[:n*sectorBytes]
		geo := r.raid10GeoFor(g.disks, g.layout)
		for _, l := range r.raid10LocsIn(&geo, sector) {
			at := int64(g.offSectors+l.sector) * sectorBytes
			var err error
			if write {
				_, err = r.members[l.disk].raw.WriteAt(piece, at)
			} else {
				_, err = r.members[l.disk].raw.ReadAt(piece, at)
			}
			if err != nil {
				r.fail(l.disk)
				return errIO
			}
			if !write {
				break
			}
		}
		p, sector = p[n*sectorBytes:], sector+n
	}
	return nil
}

// resyncGrown10 is md's resync after a raid10 reshape adding members:
// the chunks of the new geometry past the moved array get their first
// copy's bytes on every other copy. ioMu held exclusively.
func (r *Raid) resyncGrown10() error {
	rs := r.rs
	chunk := rs.new.chunkSectors
	g := r.raid10GeoFor(rs.new.disks, rs.new.layout)
	b := make([]byte, chunk*sectorBytes)
	for c := r.reshapeEnd() / chunk; c < r.raid10ArraySectors(rs.new)/chunk; c++ {
		locs := r.raid10LocsIn(&g, c*chunk)
		for i, l := range locs {
			at := int64(rs.new.offSectors+l.sector) * sectorBytes
			var err error
			if i == 0 {
				_, err = r.members[l.disk].raw.ReadAt(b, at)
			} else {
				_, err = r.members[l.disk].raw.WriteAt(b, at)
			}
			if err != nil {
				r.fail(l.disk)
				return fmt.Errorf("member %d: resync at sector %d: %w", l.disk, at/sectorBytes, err)
			}
		}
	}
	return r.flushReshaped()
}

package raid

import (
	"fmt"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// A reshape adds members to a raid4/5/6 set (LVM's lvconvert --stripes):
// the table names the members, delta_disks how many are new, data_offset
// where the data sits on the members now, free space before it (LVM
// remaps the members' first extents there). As Linux 6.1 does it
// (dm-raid's rs_prepare_reshape, rs_adjust_data_offsets,
// rs_setup_reshape; raid5's reshape_request): the table that asks for it
// writes the superblocks with the reshape flag, position 0, the new
// member count, the data at data_offset and the new data offset 0, and
// the reshape waits (MD_RECOVERY_WAIT) until the set is loaded again;
// then it copies the array row by row from the old geometry to the new
// one (the new place below the old: nothing not yet copied is written
// over), reshape_position in the superblocks following each step, so
// that a crash or a load mid-way goes on from there. I/O below the
// position goes to the new geometry, above it to the old one. At the end
// the members hold the data at offset 0 and the superblocks say so; the
// array md serves keeps its old size until the next load (md does not
// resize a dm-raid set: its mddev has no queue), I/O past it failing
// (the kernel requeues it).

// actReshape is the reshape sync action.
const actReshape = "reshape"

// geometry is where a raid4/5/6 array's chunks lie: on how many members,
// laid out by which algorithm, in chunks of how many sectors, from which
// data offset.
type geometry struct {
	disks, layout int
	chunkSectors  uint64
	offSectors    uint64
}

// reshape is a reshape in progress (the mddev's reshape fields).
// Concurrency: the Raid's mu guards it; the geometry is read under ioMu
// too, which a reshape step holds exclusively while it moves the data and
// advances posSectors.
type reshape struct {
	waiting    bool   // set up by this table: runs after the next load
	posSectors uint64 // reshape_position: the array below is in the new geometry
	old, new   geometry
	deltaDisks int
}

// dataDisks is the geometry's data members.
func (r *Raid) dataDisks(g geometry) uint64 { return uint64(g.disks - r.rt.parityDevs) }

// reshapeRequested is rs_reshape_requested for what gdmsetup carries
// out: a raid4/5/6 table adding delta_disks members to the superblocks'
// count, with the superblocks' layout and chunk size.
func (r *Raid) reshapeRequested(sb *superblock) bool {
	return r.rt.level >= 4 && r.rt.level <= 6 && r.deltaDisks > 0 &&
		int(sb.numDevices)+r.deltaDisks == len(r.members)
}

// prepareReshape is raid_ctr's reshape branch before md_run: a journaled
// set is refused, as is one without the free space the data moves
// through (rs_adjust_data_offsets; without data_offset md runs no reshape,
// which gdmsetup refuses); the array runs at the superblocks' geometry
// and size, the superblocks go on to the new one. mu held or the target
// not shared yet.
func (r *Raid) prepareReshape(sb *superblock) error {
	if r.flags&flagJournalDev != 0 {
		return targets.Errorf(syscall.EPERM, "Can't reshape a journaled raid4/5/6 set")
	}
	if r.dataOffset == 0 {
		return targets.Errorf(syscall.EPERM, "Reshape not supported")
	}
	if dev := r.members[0].raw; dev != nil && uint64(dev.SizeBytes()/sectorBytes)-r.devSectors < minFreeReshapeSectors {
		return targets.Errorf(syscall.ENOSPC, "No space for forward reshape")
	}
	if uint64(r.dataOffset) < r.chunkSectors {
		return targets.Errorf(syscall.EPERM, "data_offset %d below the chunk size %d: reshape not supported", r.dataOffset, r.chunkSectors)
	}
	old := geometry{int(sb.numDevices), int(sb.layout), uint64(sb.stripeSectors), uint64(r.dataOffset)}
	r.rs = &reshape{waiting: true, old: old, new: geometry{len(r.members), old.layout, old.chunkSectors, 0}, deltaDisks: r.deltaDisks}
	r.layout, r.chunkSectors = old.layout, old.chunkSectors
	r.offSectors = old.offSectors
	r.rdevSectors = r.devSectors + old.offSectors
	r.mdArraySectors = sb.arraySectors
	r.recoveryCp = maxSector
	r.sb.padClear = true // as 6.1 leaves the bitmap of a set it reshapes
	r.newMembersInSync()
	return nil
}

// newMembersInSync is rs_setup_reshape's for the members a reshape adds:
// not recovered, they hold their rows once the reshape writes them.
func (r *Raid) newMembersInSync() {
	for _, m := range r.members[r.rs.old.disks:] {
		m.inSync, m.recoveryOffset = true, maxSector
	}
}

// checkReshape is rs_check_reshape after md_run: a degraded or
// recovering set is not reshaped.
func (r *Raid) checkReshape() error {
	if r.rs == nil || !r.rs.waiting {
		return nil
	}
	for _, m := range r.members {
		if !m.usable() {
			return targets.Errorf(syscall.EPERM, "Can't reshape degraded raid set")
		}
	}
	if r.recoveryCp < r.devSectors {
		return targets.Errorf(syscall.EPERM, "Convert request on recovering raid set prohibited")
	}
	return nil
}

// loadReshape takes an interrupted reshape from the superblock sb
// (super_init_validation): the table runs it on at the superblocks'
// geometry. gdmsetup goes on with the reshapes it starts: raid4/5/6 sets
// adding members forwards. waiting is set for the table that asked for
// it, rebuilt in a later process.
func (r *Raid) loadReshape(sb *superblock, waiting bool) error {
	delta := int(int32(sb.deltaDisks))
	if r.rt.level < 4 || r.rt.level > 6 || int(sb.level) != r.rt.level || delta <= 0 ||
		int(sb.numDevices) != len(r.members) || sb.layout != sb.newLayout || sb.stripeSectors != sb.newStripeSectors ||
		sb.dataOffset <= sb.newDataOffset {
		return targets.Errorf(syscall.EPERM, "Reshape not supported")
	}
	chunk := uint64(sb.stripeSectors)
	old := geometry{len(r.members) - delta, int(sb.layout), chunk, sb.dataOffset}
	rs := &reshape{waiting: waiting, posSectors: sb.reshapePosition, old: old,
		new: geometry{len(r.members), old.layout, chunk, sb.newDataOffset}, deltaDisks: delta}
	if rs.posSectors%(r.dataDisks(rs.new)*chunk) != 0 {
		return targets.Invalid(fmt.Sprintf("reshape position %d not on a row of the new geometry", rs.posSectors))
	}
	r.rs = rs
	r.layout, r.chunkSectors = old.layout, chunk
	r.offSectors, r.rdevSectors, r.mdArraySectors = old.offSectors, sb.sectors, sb.arraySectors
	r.currSectors = rs.posSectors / r.dataDisks(rs.new)
	r.newMembersInSync()
	return nil
}

// reshapeRowsPerStep is how many rows of the new geometry a step moves:
// at most as many as the space between the offsets holds, so that a step
// writes nothing it has still to read (a crash mid-step finds its rows
// where they were), and about syncStepSectors of each member.
func (r *Raid) reshapeRowsPerStep() uint64 {
	rs := r.rs
	return max(1, min(rs.old.offSectors-rs.new.offSectors, syncStepSectors)/rs.new.chunkSectors)
}

// runReshape is the reshape's sync action (raid5's reshape_request, step
// by step): rows moved under the exclusive I/O lock, the position
// advanced and the superblocks written before any I/O sees it. It
// returns whether the reshape finished. mu held; released while working.
func (r *Raid) runReshape() bool {
	rs := r.rs
	chunk := rs.new.chunkSectors
	rowSectors := r.dataDisks(rs.new) * chunk
	rows := r.devSectors / chunk
	step := r.reshapeRowsPerStep()
	for row := rs.posSectors / rowSectors; row < rows; {
		if r.stopWorker || r.frozen {
			r.interrupted = true
			return false
		}
		n := min(step, rows-row)
		r.mu.Unlock()
		r.ioMu.Lock()
		err := r.moveRows(row, n)
		if err == nil {
			r.mu.Lock()
			rs.posSectors = (row + n) * rowSectors
			r.currSectors = (row + n) * chunk
			r.mu.Unlock()
			err = r.writeSuperblocks()
		}
		r.ioMu.Unlock()
		r.mu.Lock()
		if err != nil {
			r.logf("reshape stopped at array sector %d: %v", rs.posSectors, err)
			r.interrupted = true
			return false
		}
		row += n
	}
	r.mu.Unlock()
	r.ioMu.Lock()
	r.mu.Lock()
	r.finishReshape()
	r.mu.Unlock()
	r.ioMu.Unlock()
	r.writeSuperblocks()
	r.mu.Lock()
	return true
}

// finishReshape is end_reshape and md_finish_reshape: the array is in the
// new geometry, the members' data at the new offset (their used sectors
// grown by what the offset moved), the array's size unchanged. ioMu held
// exclusively and mu held.
func (r *Raid) finishReshape() {
	rs := r.rs
	r.rdevSectors += rs.old.offSectors - rs.new.offSectors
	r.offSectors = rs.new.offSectors
	r.layout, r.chunkSectors = rs.new.layout, rs.new.chunkSectors
	for _, m := range r.members {
		m.data = atOffset(m.raw, r.offSectors)
	}
	r.rs = nil
	r.action, r.currSectors = actIdle, 0
}

// moveRows copies the new geometry's rows [first, first+n) from where
// the old geometry holds their chunks: every chunk read before any row is
// written, the rows' parity computed, the members flushed. ioMu held
// exclusively.
func (r *Raid) moveRows(first, n uint64) error {
	rs := r.rs
	chunk := rs.new.chunkSectors
	newData, oldData := r.dataDisks(rs.new), r.dataDisks(rs.old)
	rows := make([][][]byte, n)
	nrw := make([]*row, n)
	for i := range n {
		s := first + i
		nrw[i] = r.rowIn(rs.new.disks, rs.new.layout, s*newData)
		bufs := make([][]byte, rs.new.disks)
		for k := range newData {
			c := s*newData + k
			orw := r.rowIn(rs.old.disks, rs.old.layout, c)
			b, err := r.readOld(orw.data[c%oldData], rs.old.offSectors+orw.stripe*chunk, chunk)
			if err != nil {
				return err
			}
			bufs[nrw[i].data[k]] = b
		}
		bufs[nrw[i].pd] = make([]byte, chunk*sectorBytes)
		if nrw[i].qd >= 0 {
			bufs[nrw[i].qd] = make([]byte, chunk*sectorBytes)
		}
		r.computeParity(nrw[i], bufs)
		rows[i] = bufs
	}
	for i, bufs := range rows {
		at := int64(rs.new.offSectors+(first+uint64(i))*chunk) * sectorBytes
		for d, b := range bufs {
			if _, err := r.members[d].raw.WriteAt(b, at); err != nil {
				r.fail(d)
				return fmt.Errorf("member %d: write at sector %d: %w", d, at/sectorBytes, err)
			}
		}
	}
	for d, m := range r.members {
		if err := m.raw.Flush(); err != nil {
			r.fail(d)
			return fmt.Errorf("member %d: flush: %w", d, err)
		}
	}
	return nil
}

// readOld reads a chunk of the old geometry from member d's device at
// atSectors; what lies past the device's end (the rows beyond the old
// array md moves too) reads as zeros.
func (r *Raid) readOld(d int, atSectors, lenSectors uint64) ([]byte, error) {
	b := make([]byte, lenSectors*sectorBytes)
	dev := r.members[d].raw
	size := uint64(dev.SizeBytes() / sectorBytes)
	if atSectors >= size {
		return b, nil
	}
	part := b[:min(lenSectors, size-atSectors)*sectorBytes]
	if _, err := dev.ReadAt(part, int64(atSectors)*sectorBytes); err != nil {
		r.fail(d)
		return nil, fmt.Errorf("member %d: read at sector %d: %w", d, atSectors, err)
	}
	return b, nil
}

// reshapeIO is a read or write while a reshape is in progress, chunk by
// chunk in the geometry the reshape position gives it: a read from its
// data member, a write with its row's parity computed afresh from the
// row's data members. A member that fails fails the I/O. ioMu held
// shared.
func (r *Raid) reshapeIO(p []byte, sector uint64, write bool) error {
	rs := r.rs
	for len(p) > 0 {
		g := rs.old
		if sector < rs.posSectors {
			g = rs.new
		}
		chunk := g.chunkSectors
		c, off := sector/chunk, sector%chunk
		n := min(uint64(len(p))/sectorBytes, chunk-off)
		rw := r.rowIn(g.disks, g.layout, c)
		at := g.offSectors + rw.stripe*chunk + off
		piece := p[:n*sectorBytes]
		d := rw.data[c%r.dataDisks(g)]
		var err error
		if write {
			err = r.reshapeWrite(rw, g.disks, d, piece, at)
		} else if _, err = r.members[d].raw.ReadAt(piece, int64(at)*sectorBytes); err != nil {
			r.fail(d)
		}
		if err != nil {
			return errIO
		}
		p, sector = p[n*sectorBytes:], sector+n
	}
	return nil
}

// reshapeWrite writes piece to member d at atSectors and the row's parity
// there, computed from the row's other data members read back.
func (r *Raid) reshapeWrite(rw *row, disks, d int, piece []byte, atSectors uint64) error {
	defer r.rowLock(rw)()
	bufs := make([][]byte, disks)
	bufs[d] = piece
	for _, o := range rw.data {
		if o == d {
			continue
		}
		b := make([]byte, len(piece))
		if _, err := r.members[o].raw.ReadAt(b, int64(atSectors)*sectorBytes); err != nil {
			r.fail(o)
			return err
		}
		bufs[o] = b
	}
	bufs[rw.pd] = make([]byte, len(piece))
	if rw.qd >= 0 {
		bufs[rw.qd] = make([]byte, len(piece))
	}
	r.computeParity(rw, bufs)
	for _, i := range append([]int{d, rw.pd}, rw.qd) {
		if i < 0 {
			continue
		}
		if _, err := r.members[i].raw.WriteAt(bufs[i], int64(atSectors)*sectorBytes); err != nil {
			r.fail(i)
			return err
		}
	}
	return nil
}

package raid

import (
	"fmt"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// A reshape changes a raid4/5/6 set's geometry as Linux 6.1 does it
// (dm-raid's rs_prepare_reshape, rs_adjust_data_offsets,
// rs_setup_reshape; raid5's reshape_request), out of place, through free
// space on the members given by data_offset (raid10 near sets given
// members: reshape10.go):
//
//   - members added (LVM's lvconvert --stripes): delta_disks new members,
//     the data data_offset sectors into the old ones (LVM moves the free
//     space to their start); the reshape goes forwards, the data to
//     offset 0;
//   - another layout or chunk size, the same members (lvconvert --type
//     raid5_ra, --stripesize): with the data at offset 0 (free space at
//     the members' end) the reshape goes backwards, from the array's end,
//     the data to data_offset; with the data at an offset it goes
//     forwards, the data to offset 0.
//
// The table that asks for it writes the superblocks with the reshape flag
// (and the backwards one), the position where it starts, the new
// geometry, delta_disks, the old and new data offsets, and the reshape
// waits (MD_RECOVERY_WAIT) until the set is loaded again; then it moves
// the array unit by unit (a unit: the larger chunk of each member) from
// the old geometry to the new one, reshape_position in the superblocks
// following each step, so that a crash or a load mid-way goes on from
// there: a step never writes where it has still to read (the offsets
// differ by at least the step). I/O on the done side of the position
// goes to the new geometry, the rest to the old one. At the end the
// members hold the data at the new offset and the superblocks say so; the
// array md serves keeps its size until the next load (md does not resize
// a dm-raid set: its mddev has no queue), I/O past it failing (the kernel
// requeues it).

// actReshape is the reshape sync action.
const actReshape = "reshape"

// sbFlagBackwards is SB_FLAG_RESHAPE_BACKWARDS.
const sbFlagBackwards = 2

// geometry is where a raid4/5/6 (or raid10) array's chunks lie: on how
// many members, laid out by which algorithm (raid10: which copies), in
// chunks of how many sectors, from which data offset.
type geometry struct {
	disks, layout int
	chunkSectors  uint64
	offSectors    uint64
}

// reshape is a reshape in progress (the mddev's reshape fields).
// Concurrency: the Raid's mu guards it; the geometry and position are
// read under ioMu too, which a reshape step holds exclusively while it
// moves the data and advances posSectors.
type reshape struct {
	waiting    bool   // set up by this table: runs after the next load
	backwards  bool   // from the array's end down
	posSectors uint64 // reshape_position: the array on its done side is in the new geometry
	old, new   geometry
	deltaDisks int
}

// unitSectors is a reshape step's unit on each member: md's
// reshape_sectors, the larger chunk.
func (rs *reshape) unitSectors() uint64 { return max(rs.old.chunkSectors, rs.new.chunkSectors) }

// moved reports whether the array sector is on the done side of the
// position.
func (rs *reshape) moved(sector uint64) bool {
	if rs.backwards {
		return sector >= rs.posSectors
	}
	return sector < rs.posSectors
}

// offsetsApart is how far the old and new data offsets are.
func (rs *reshape) offsetsApart() uint64 {
	return max(rs.old.offSectors, rs.new.offSectors) - min(rs.old.offSectors, rs.new.offSectors)
}

// dataDisks is the geometry's data members.
func (r *Raid) dataDisks(g geometry) uint64 { return uint64(g.disks - r.rt.parityDevs) }

// askGeometry records the geometry the table asks for (asked), before
// the superblocks' replaces it (checkLayout).
func (r *Raid) askGeometry() {
	if r.asked == nil {
		r.asked = &geometry{disks: len(r.members), layout: r.layout, chunkSectors: r.chunkSectors}
	}
}

// reshapeRequested is rs_reshape_requested for what gdmsetup carries
// out: a raid4/5/6 or raid10 near table adding delta_disks members to the
// superblocks' count, or a raid4/5/6 one naming another layout or chunk
// size with data_offset on the same members.
func (r *Raid) reshapeRequested(sb *superblock) bool {
	if int(sb.level) != r.rt.level {
		return false
	}
	if r.rt.level == 10 {
		// a near set given members, its copies kept (other raid10 member
		// counts are refused)
		return r.deltaDisks > 0 && int(sb.numDevices)+r.deltaDisks == len(r.members) &&
			raid10Reshapable(int(sb.layout)) && r.asked.layout == int(sb.layout) && r.asked.chunkSectors == uint64(sb.stripeSectors)
	}
	if r.rt.level < 4 || r.rt.level > 6 {
		return false
	}
	if r.deltaDisks > 0 && int(sb.numDevices)+r.deltaDisks == len(r.members) ||
		r.deltaDisks < 0 && int(sb.numDevices) == len(r.members) {
		return true
	}
	return int(sb.numDevices) == len(r.members) && r.flags&flagDataOffset != 0 && r.deltaDisks == 0 &&
		(r.asked.layout != int(sb.layout) || r.asked.chunkSectors != uint64(sb.stripeSectors))
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
	if r.dataOffset == 0 && r.deltaDisks < 0 {
		// no reshape space: md runs the set unchanged, at the
		// superblocks' size
		r.arraySectors, r.mdArraySectors = sb.arraySectors, sb.arraySectors
		return nil
	}
	if r.dataOffset == 0 {
		return targets.Errorf(syscall.EPERM, "Reshape not supported")
	}
	old := geometry{int(sb.numDevices), int(sb.layout), uint64(sb.stripeSectors), sb.dataOffset}
	nw := geometry{len(r.members) + min(r.deltaDisks, 0), r.asked.layout, r.asked.chunkSectors, 0}
	reshapeSectors := uint64(r.dataOffset)
	if r.deltaDisks != 0 && nw.layout != old.layout {
		r.logf("Ignoring invalid layout change with delta_disks=%d", r.deltaDisks)
		nw.layout = old.layout
	}
	if r.deltaDisks > 0 {
		// rs_adjust_data_offsets: the data is at the table's offset
		old.offSectors = uint64(r.dataOffset)
	} else if r.deltaDisks < 0 {
		// rs_adjust_data_offsets takes the data at offset 0 whatever
		// the superblocks say (a set whose data a reshape moved would
		// be reshaped from garbage: refused)
		if old.offSectors != 0 {
			return targets.Errorf(syscall.EPERM, "members removed from a set whose data is at sector %d: reshape not supported", old.offSectors)
		}
		nw.offSectors = uint64(r.dataOffset)
	} else if old.offSectors == 0 {
		nw.offSectors = uint64(r.dataOffset)
	} else {
		reshapeSectors = max(reshapeSectors, old.offSectors)
	}
	if dev := r.members[0].raw; dev != nil && uint64(dev.SizeBytes()/sectorBytes)-r.devSectors < minFreeReshapeSectors {
		if old.offSectors != 0 {
			return targets.Errorf(syscall.ENOSPC, "No space for forward reshape")
		}
		return targets.Errorf(syscall.ENOSPC, "No space for backward reshape")
	}
	rs := &reshape{waiting: true, backwards: old.offSectors == 0, old: old, new: nw, deltaDisks: r.deltaDisks}
	if err := r.reshapeFits(rs); err != nil {
		return err
	}
	if err := r.shrinkFits(rs); err != nil {
		return err
	}
	r.rs = rs
	r.layout, r.chunkSectors = old.layout, old.chunkSectors
	r.offSectors = old.offSectors
	r.rdevSectors = r.devSectors
	if !rs.backwards {
		// rs_setup_reshape: md_finish_reshape takes it off again
		r.rdevSectors += reshapeSectors
	}
	r.mdArraySectors = sb.arraySectors
	if rs.deltaDisks < 0 {
		// rs_setup_reshape: members removed, the array shrinks at once
		// to the new geometry's size
		r.mdArraySectors = r.arraySectors
	}
	if rs.backwards {
		rs.posSectors = r.reshapeEnd()
	}
	r.recoveryCp = maxSector
	r.sb.padClear = true // as 6.1 leaves the bitmap of a set it reshapes
	r.newMembersInSync()
	return nil
}

// reshapeFits refuses a reshape whose step would write over what it
// still has to read: the offsets less than a unit apart.
func (r *Raid) reshapeFits(rs *reshape) error {
	least := rs.unitSectors()
	if r.rt.level == 10 {
		least = 3 * rs.new.chunkSectors
	}
	if rs.offsetsApart() < least {
		return targets.Errorf(syscall.EPERM, "data offsets %d and %d less than %d sectors apart: reshape not supported",
			rs.old.offSectors, rs.new.offSectors, least)
	}
	return nil
}

// shrinkFits is raid5's check_reshape and raid5_start_reshape for
// members removed: raid4/5 keep at least two members, raid6 four
// (EINVAL); the new geometry's array, each member's used sectors rounded
// down to both chunk sizes, holds the shrunk array; the new chunk size
// divides it.
func (r *Raid) shrinkFits(rs *reshape) error {
	if rs.deltaDisks >= 0 {
		return nil
	}
	least := 2
	if r.rt.level == 6 {
		least = 4
	}
	if rs.new.disks < least {
		return targets.Invalid(fmt.Sprintf("%d members left of %d, the level keeps at least %d: pers->check_reshape() failed",
			rs.new.disks, rs.old.disks, least))
	}
	perMember := r.devSectors / rs.unitSectors() * rs.unitSectors()
	if perMember*r.dataDisks(rs.new) < r.arraySectors || r.arraySectors%rs.new.chunkSectors != 0 {
		return targets.Invalid(fmt.Sprintf("array of %d sectors not whole chunks of the %d members left: pers->start_reshape() failed",
			r.arraySectors, rs.new.disks))
	}
	return nil
}

// unitArraySectors is the array sectors of a reshape's unit: raid10's
// chunk, raid4/5/6's unit times the new data members.
func (r *Raid) unitArraySectors() uint64 {
	rs := r.rs
	if r.rt.level == 10 {
		return rs.new.chunkSectors
	}
	return rs.unitSectors() * r.dataDisks(rs.new)
}

// reshapeProgress is the reshape's progress as status shows it: the
// array sectors moved (raid10) or each member's.
func (r *Raid) reshapeProgress() uint64 {
	if r.rt.level == 10 {
		return r.reshapeDone()
	}
	return r.reshapeDone() / r.dataDisks(r.rs.new)
}

// reshapeEnd is the array sectors the reshape goes through: every unit
// of the members' used sectors in the new geometry.
func (r *Raid) reshapeEnd() uint64 {
	rs := r.rs
	if rs == nil {
		return 0
	}
	if r.rt.level == 10 {
		// raid10 moves the array md serves (resync_max_sectors)
		return min(r.raid10ArraySectors(rs.new), r.mdArraySectors/rs.new.chunkSectors*rs.new.chunkSectors)
	}
	return r.devSectors / rs.unitSectors() * rs.unitSectors() * r.dataDisks(rs.new)
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
// (super_init_validation): the table runs it on from the superblocks'
// geometry to the one the table names (rs_config_restore: before the
// reshape has moved anything the table may change it; after, gdmsetup
// refuses another). Members removed are not carried out. waiting is set
// for the table that asked for it, rebuilt in a later process.
func (r *Raid) loadReshape(sb *superblock, waiting bool) error {
	delta := int(int32(sb.deltaDisks))
	unsupported := targets.Errorf(syscall.EPERM, "Reshape not supported")
	oldDisks, newDisks := int(sb.numDevices)-delta, int(sb.numDevices)
	if (r.rt.level < 4 || r.rt.level > 6) && r.rt.level != 10 || int(sb.level) != r.rt.level || sb.newLevel != sb.level ||
		max(oldDisks, newDisks) != len(r.members) || delta < 0 && sb.flags&sbFlagBackwards == 0 ||
		r.rt.level == 10 && (delta <= 0 || sb.layout != sb.newLayout || sb.stripeSectors != sb.newStripeSectors) {
		return unsupported
	}
	if min(oldDisks, newDisks) < r.rt.minimalDevs || !r.validGeometry(int(sb.layout), uint64(sb.stripeSectors)) ||
		!r.validGeometry(int(sb.newLayout), uint64(sb.newStripeSectors)) {
		return errInvalidSuperblocks
	}
	rs := &reshape{waiting: waiting, backwards: sb.flags&sbFlagBackwards != 0, posSectors: sb.reshapePosition,
		old:        geometry{oldDisks, int(sb.layout), uint64(sb.stripeSectors), sb.dataOffset},
		new:        geometry{newDisks, int(sb.newLayout), uint64(sb.newStripeSectors), sb.newDataOffset},
		deltaDisks: delta}
	r.rs = rs
	atStart := rs.posSectors == 0 && !rs.backwards || rs.backwards && rs.posSectors == r.reshapeEnd()
	if rs.new.layout != r.asked.layout || rs.new.chunkSectors != r.asked.chunkSectors {
		if !atStart || delta != 0 && rs.new.layout != r.asked.layout || r.rt.level == 10 {
			r.rs = nil
			return unsupported
		}
		rs.new.layout, rs.new.chunkSectors = r.asked.layout, r.asked.chunkSectors
	}
	if rs.posSectors%r.unitArraySectors() != 0 || rs.posSectors > r.reshapeEnd() {
		r.rs = nil
		return targets.Invalid(fmt.Sprintf("reshape position %d not on a unit of the new geometry", rs.posSectors))
	}
	if err := r.reshapeFits(rs); err != nil {
		r.rs = nil
		return err
	}
	if !waiting {
		// super_init_validation names the set by its old layout
		r.shownType = raidTypeByLevelLayout(int(sb.level), int(sb.layout))
	}
	r.layout, r.chunkSectors = rs.old.layout, rs.old.chunkSectors
	r.offSectors, r.rdevSectors, r.mdArraySectors = rs.old.offSectors, sb.sectors, sb.arraySectors
	r.currSectors = r.reshapeProgress()
	r.newMembersInSync()
	return nil
}

// validGeometry reports whether a superblock's layout and chunk size are
// ones md's raid4/5/6 runs: a layout a raid type of the level names, a
// chunk of whole pages and a power of 2.
func (r *Raid) validGeometry(layout int, chunkSectors uint64) bool {
	if r.rt.level == 10 && (!raid10Reshapable(layout) || raid10Copies(layout) > len(r.members)) {
		return false
	}
	return raidTypeByLevelLayout(r.rt.level, layout) != nil && chunkSectors != 0 &&
		chunkSectors%pageSectors == 0 && targets.PowerOfTwo(chunkSectors)
}

// reshapeDone is how much of the array the reshape has moved.
func (r *Raid) reshapeDone() uint64 {
	rs := r.rs
	if rs.backwards {
		return r.reshapeEnd() - rs.posSectors
	}
	return rs.posSectors
}

// reshapeUnitsPerStep is how many units a step moves: at most as many as
// the space between the offsets holds, so that a step writes nothing it
// has still to read (a crash mid-step finds its units where they were),
// and about syncStepSectors of each member.
func (r *Raid) reshapeUnitsPerStep() uint64 {
	rs := r.rs
	if r.rt.level == 10 {
		return r.raid10ChunksPerStep()
	}
	return max(1, min(rs.offsetsApart(), syncStepSectors)/rs.unitSectors())
}

// moveStep moves the units [first, first+n) to the new geometry.
// ioMu held exclusively.
func (r *Raid) moveStep(first, n uint64) error {
	if r.rt.level == 10 {
		return r.moveChunks10(first, n)
	}
	return r.moveUnits(first, n)
}

// runReshape is the reshape's sync action (raid5's reshape_request, step
// by step): units moved under the exclusive I/O lock, the position
// advanced and the superblocks written before any I/O sees it. It
// returns whether the reshape finished. mu held; released while working.
func (r *Raid) runReshape() bool {
	rs := r.rs
	unitArray := r.unitArraySectors()
	units := r.reshapeEnd() / unitArray
	step := r.reshapeUnitsPerStep()
	for {
		done := r.reshapeDone() / unitArray
		if done >= units {
			break
		}
		if r.stopWorker || r.frozen {
			r.interrupted = true
			return false
		}
		n := min(step, units-done)
		first, pos := done, (done+n)*unitArray
		if rs.backwards {
			first = units - done - n
			pos = first * unitArray
		}
		r.mu.Unlock()
		r.ioMu.Lock()
		err := r.moveStep(first, n)
		if err == nil {
			r.mu.Lock()
			rs.posSectors = pos
			r.currSectors = r.reshapeProgress()
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
	}
	r.mu.Unlock()
	r.ioMu.Lock()
	if r.rt.level == 10 {
		if err := r.resyncGrown10(); err != nil {
			r.ioMu.Unlock()
			r.mu.Lock()
			r.logf("reshape stopped: %v", err)
			r.interrupted = true
			return false
		}
	}
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
// changed by what the offset moved), the array's size unchanged. ioMu
// held exclusively and mu held.
func (r *Raid) finishReshape() {
	rs := r.rs
	r.rdevSectors = r.rdevSectors + rs.old.offSectors - rs.new.offSectors
	r.offSectors = rs.new.offSectors
	r.layout, r.chunkSectors = rs.new.layout, rs.new.chunkSectors
	for _, m := range r.members {
		m.data = atOffset(m.raw, r.offSectors)
	}
	if rs.new.disks < len(r.members) {
		// raid5_finish_reshape: the members past the new count leave
		// the array (not in sync, no role); their superblocks are still
		// written
		r.dropMembers(rs.new.disks)
	}
	if r.rt.level == 10 {
		// do_table_event's rs_set_rdev_sectors: raid10's members use the
		// set's sectors again
		r.rdevSectors = r.devSectors
		r.setupRaid10()
	}
	r.rs = nil
	r.action, r.currSectors = actIdle, 0
}

// dropMembers takes the members from n on out of the array: they stay
// the table's devices (removed), not in sync, recovered nowhere. mu held.
func (r *Raid) dropMembers(n int) {
	r.removed = r.members[n:]
	r.members = r.members[:n:n]
	for _, m := range r.removed {
		m.inSync, m.recoveryOffset = false, 0
	}
}

// moveUnits moves the units [first, first+n) of the new geometry from
// where the old geometry holds their array: all of it read before any
// member is written, the new rows' parity computed, the members flushed.
// ioMu held exclusively.
func (r *Raid) moveUnits(first, n uint64) error {
	rs := r.rs
	unit, chunk := rs.unitSectors(), rs.new.chunkSectors
	newData := r.dataDisks(rs.new)
	data, err := r.readArray(rs.old, first*unit*newData, n*unit*newData)
	if err != nil {
		return err
	}
	out := make([][]byte, rs.new.disks)
	for d := range out {
		out[d] = make([]byte, n*unit*sectorBytes)
	}
	rowBytes := chunk * sectorBytes
	for s := first * unit / chunk; s < (first+n)*unit/chunk; s++ {
		rw := r.rowIn(rs.new.disks, rs.new.layout, s*newData)
		at := (s - first*unit/chunk) * rowBytes
		bufs := make([][]byte, rs.new.disks)
		for d := range bufs {
			bufs[d] = out[d][at : at+rowBytes]
		}
		for k := range newData {
			c := s*newData + k - first*unit/chunk*newData
			copy(bufs[rw.data[k]], data[c*rowBytes:(c+1)*rowBytes])
		}
		r.computeParity(rw, bufs)
	}
	at := int64(rs.new.offSectors+first*unit) * sectorBytes
	for d, b := range out {
		if _, err := r.members[d].raw.WriteAt(b, at); err != nil {
			r.fail(d)
			return fmt.Errorf("member %d: write at sector %d: %w", d, at/sectorBytes, err)
		}
	}
	return r.flushReshaped()
}

// flushReshaped flushes every member's device after a reshape step wrote
// to it, before the superblocks may say the step is done: a member that
// fails is failed, and so is the step.
func (r *Raid) flushReshaped() error {
	for d, m := range r.members {
		if err := m.raw.Flush(); err != nil {
			r.fail(d)
			return fmt.Errorf("member %d: flush: %w", d, err)
		}
	}
	return nil
}

// readArray reads lenSectors of the array from sector as the geometry g
// lays them out, chunk by chunk from the members' devices.
func (r *Raid) readArray(g geometry, sector, lenSectors uint64) ([]byte, error) {
	out := make([]byte, lenSectors*sectorBytes)
	for done := uint64(0); done < lenSectors; {
		c, off := (sector+done)/g.chunkSectors, (sector+done)%g.chunkSectors
		n := min(lenSectors-done, g.chunkSectors-off)
		rw := r.rowIn(g.disks, g.layout, c)
		b, err := r.readOld(rw.data[c%r.dataDisks(g)], g.offSectors+rw.stripe*g.chunkSectors+off, n)
		if err != nil {
			return nil, err
		}
		copy(out[done*sectorBytes:], b)
		done += n
	}
	return out, nil
}

// readOld reads lenSectors of the old geometry from member d's device at
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
	if r.rt.level == 10 {
		return r.reshapeIO10(p, sector, write)
	}
	rs := r.rs
	for len(p) > 0 {
		g := rs.old
		if rs.moved(sector) {
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

package raid

import (
	"fmt"
	"sync"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// superState is what the metadata devices hold, in memory: the event
// count of the superblocks and the write-intent bitmap.
//
// Concurrency: the Raid's mu guards every field but diskBits; metaMu
// serialises the writes of superblocks and bitmap pages to the metadata
// devices and guards diskBits.
type superState struct {
	persistent  bool   // there are metadata devices
	events      uint64 // md's events: bumped at every superblock write
	bitmap      bool   // a write-intent bitmap lives at 4 KiB
	regions     uint64 // the bitmap's regions
	bits        []byte // the regions that may differ (as on disk)
	needResync  []byte // the regions the next resync goes through
	written     []byte // the regions written since the last flush
	diskBits    []byte // the bits the metadata devices hold (flushed)
	stale       bool   // every region is to be resynchronised
	metaMu      sync.Mutex
	bitmapReady bool // the bitmap has been loaded (preresume)
	newBitmap   bool // a takeover adding members: the bitmap is made anew, not read
	padClear    bool // the bits past the last region are clear (md sets them on a new bitmap)

	// eventsCleared is the bitmap's events_cleared: it follows events
	// while no member is degraded (md_bitmap_endwrite) and is held back
	// while one is, so that a member coming back is recovered from the
	// bits (md_bitmap_load keeps them needed when it is behind events)
	eventsCleared uint64
}

// analyseSuperblocks is analyse_superblocks with super_load,
// super_init_validation and super_validate: the freshest superblock
// (most events) or, when none has dm-raid's magic, new ones; a table
// that asks for another level, layout, chunk size or member count than
// the superblocks hold is a reshape or a takeover, refused here.
func (r *Raid) analyseSuperblocks() error {
	if r.flags&flagSync != 0 {
		// no superblock is read (the array is initialised as new) and
		// none validated: md writes them, but sets up no bitmap
		for _, m := range r.members {
			r.sb.persistent = r.sb.persistent || m.meta != nil
		}
		return nil
	}
	var freshest *superblock
	sbs := make([]*superblock, len(r.members))
	newDevs, rebuilds := 0, 0
	for i, m := range r.members {
		if m.meta == nil {
			continue
		}
		b := make([]byte, sbBytes)
		if _, err := m.meta.ReadAt(b, 0); err != nil {
			r.logf("Failed to read superblock of device at position %d", i)
			// raid0 keeps the member: md would not start the set without it
			m.faulty = r.rt.level != 0
			continue
		}
		sb, ok := parseSuperblock(b)
		if !ok || m.rebuild {
			m.firstUse = true
			if freshest == nil {
				freshest = &superblock{}
			}
			continue
		}
		sbs[i] = &sb
		if freshest == nil || freshest.magicless() || sb.events > freshest.events {
			freshest = sbs[i]
		}
	}
	if freshest == nil {
		return nil
	}
	r.sb.persistent = true
	if r.rt.level == 0 {
		// super_validate returns at once for a raid0 table: no superblock
		// is validated, the table's level, chunk size and members rule
		// (any level's superblocks are taken over to raid0 this way) and
		// the superblocks are rewritten at the first resume
		return nil
	}
	var takeover *superblock
	if r.journal != nil {
		// super_init_validation skips the journal by the freshest
		// member's flags, not its own: the journal counts as a member
		// to rebuild, at position -1, listed first
		r.logf("Device -1 specified for rebuild; clearing superblock")
		rebuilds++
	}
	if r.removedByReshape(freshest, sbs) {
		sbs = sbs[:freshest.numDevices]
		r.dropMembers(int(freshest.numDevices))
	}
	for i, m := range r.members {
		if m.data == nil {
			continue
		}
		if m.firstUse {
			newDevs++
		}
		if !m.inSync {
			r.logf("Device %d specified for rebuild; clearing superblock", i)
			rebuilds++
		}
	}
	if !freshest.magicless() {
		if int(freshest.level) != r.rt.level {
			takeover = freshest
		}
		if err := r.checkLayout(freshest); err != nil {
			return err
		}
		if freshest.compat&featureV190 == 0 {
			r.logf("Discovered old metadata format; upgrading to extended metadata format")
		}
		r.sb.events = freshest.events
		if r.flags&flagNosync == 0 {
			r.recoveryCp = freshest.resyncOffset
		}
	}
	switch {
	case newDevs == len(r.members):
		r.logf("Superblocks created for new raid set")
		r.firstUse = true
	case rebuilds == 0 && newDevs != 0 && newDevs != r.deltaDisks:
		r.logf("New device injected into existing raid set without 'delta_disks' or 'rebuild' parameter specified")
		return errInvalidSuperblocks
	case rebuilds != 0 && newDevs != 0 && newDevs != rebuilds:
		r.logf("%d 'rebuild' devices cannot be injected into a raid set with %d other first-time devices", rebuilds, newDevs)
		return errInvalidSuperblocks
	}
	for i, sb := range sbs {
		if sb == nil {
			continue
		}
		if int(sb.position) != i {
			// raid1 tables and raid0 sets taken over to raid10 place
			// their members as they like
			if r.rt.level != 1 && (takeover == nil || takeover.level != 0 || r.rt.level != 10) {
				return targets.Invalid("Cannot change device positions in raid set")
			}
			r.logf("raid device #%d now at position #%d", sb.position, i)
		}
		if sb.compat != 0 && sb.compat != featureV190 {
			return targets.Invalid("Unable to assemble array: Unknown flag(s) in compatible feature flags")
		}
		if sb.incompat != 0 {
			return targets.Invalid("Unable to assemble array: No incompatible feature flags supported yet")
		}
		if sb == freshest {
			takeRecovery(r.members[i], sb, freshest)
		}
	}
	// validate_raid_redundancy runs between super_validate of the freshest
	// member and of the others: their recovery offsets, and the failed
	// devices the freshest records, are not taken yet (md_run counts the
	// members to recover)
	if !r.redundant(freshest) {
		return targets.Invalid("Insufficient redundancy to activate array")
	}
	for i, sb := range sbs {
		if sb != nil && sb != freshest {
			takeRecovery(r.members[i], sb, freshest)
		}
	}
	if r.noRdevSectors(sbs) {
		return targets.Invalid("Invalid rdev size")
	}
	if takeover != nil {
		return r.takeOver(takeover)
	}
	if r.rt.level == 1 && !freshest.magicless() && !r.rebuilding &&
		(int(freshest.numDevices) != len(r.members) || r.flags&flagDeltaDisks != 0) {
		return r.changeLegs(freshest)
	}
	if r.rs == nil && !freshest.magicless() && r.reshapeRequested(freshest) {
		return r.prepareReshape(freshest)
	}
	return nil
}

// takeRecovery is super_validate's part for member m with superblock sb:
// its recovery offset (in sync at the end) and, when the freshest
// superblock records it as failed, a recovery from the start (a member
// that comes back).
func takeRecovery(m *member, sb, freshest *superblock) {
	if m.inSync {
		m.recoveryOffset = sb.recoveryOffset
		m.inSync = m.recoveryOffset == maxSector
	}
	if !freshest.magicless() && freshest.failedBit(int(sb.position)) {
		m.recoveryOffset, m.inSync = 0, false
	}
}

// removedByReshape reports a raid4/5/6 table whose devices past the
// superblocks' member count are members a finished reshape removed:
// their superblocks give them no role (position -1).
func (r *Raid) removedByReshape(freshest *superblock, sbs []*superblock) bool {
	if r.rt.level < 4 || r.rt.level > 6 || freshest.magicless() || int(freshest.level) != r.rt.level ||
		freshest.flags&sbFlagReshape != 0 || int(freshest.numDevices) >= len(r.members) ||
		int(freshest.numDevices) < r.rt.minimalDevs {
		return false
	}
	for _, sb := range sbs[freshest.numDevices:] {
		if sb == nil || sb.position != ^uint32(0) {
			return false
		}
	}
	return true
}

// noRdevSectors is raid_ctr's __rdev_sectors finding none: every member
// with a data device has a superblock saying it uses no sectors (a
// backward reshape whose new data offset took them all leaves that:
// md_finish_reshape takes the offset's move off them).
func (r *Raid) noRdevSectors(sbs []*superblock) bool {
	for i, m := range r.members {
		if m.data == nil {
			continue
		}
		if sb := sbs[i]; sb == nil || m.firstUse || sb.compat&featureV190 == 0 || sb.sectors != 0 {
			return false
		}
	}
	return true
}

// errInvalidSuperblocks is what raid_ctr says when super_validate fails.
var errInvalidSuperblocks = targets.Invalid("Unable to assemble array: Invalid superblocks")

// magicless reports a superblock made up for members without one.
func (s *superblock) magicless() bool { return s.numDevices == 0 }

// checkLayout compares the table with the superblock, which is
// authoritative: another level is a takeover (takeover.go, decided once
// the members are validated; refused here over superblocks without the
// v1.9.0 fields, as md refuses it), another member count a reshape
// (reshape.go: raid4/5/6 and raid10 adding members; refused otherwise)
// or, for raid1, legs added or removed (legs.go); another
// layout or chunk size is ignored (md changes them with free space on
// the members: not done here): the array keeps the superblock's (the
// table line echoes the superblock's chunk size). An interrupted reshape
// goes on (or is refused when gdmsetup does not carry it out); the data
// of raid4/5/6 sits at the superblocks' data offset.
func (r *Raid) checkLayout(sb *superblock) error {
	r.askGeometry()
	switch {
	case sb.flags&sbFlagReshape != 0 && r.flags&flagDeltaDisks != 0 && !r.rebuilding:
		r.logf("Reshape requested but raid set is still reshaping")
		return errInvalidSuperblocks
	case sb.flags&sbFlagReshape != 0:
		// the table that asked for it, rebuilt in a later process, still
		// waits for the next load
		return r.loadReshape(sb, r.flags&flagDeltaDisks != 0)
	case int(sb.level) != r.rt.level && sb.compat&featureV190 == 0:
		return r.takeoverUnsupported(sb)
	case int(sb.level) != r.rt.level:
		return nil
	case int(sb.numDevices) != len(r.members) && r.rt.level != 1 && !r.reshapeRequested(sb):
		return targets.Errorf(syscall.EPERM, "Reshape not supported")
	}
	r.layout, r.chunkSectors = int(sb.layout), uint64(sb.stripeSectors)
	if r.rt.level >= 4 && r.rt.level <= 6 {
		// super_validate: the data sits at the superblocks' offset
		r.offSectors = sb.dataOffset
	}
	if r.rt.level >= 4 && r.rebuilding && sb.arraySectors < r.arraySectors {
		// the live table that ran a reshape adding members: md serves
		// the old size until the next load
		r.mdArraySectors, r.rdevSectors = sb.arraySectors, sb.sectors
	}
	return nil
}

// redundant is validate_raid_redundancy: members to rebuild or without a
// superblock within what the level survives (raid10 per mirror group),
// the level and raid10 layout the superblock sb gives (the set's before
// a takeover), the parity members the table's type has.
func (r *Raid) redundant(sb *superblock) bool {
	lost := func(m *member) bool { return !m.firstUse && (!m.inSync || m.meta == nil) }
	count := 0
	for _, m := range r.members {
		if lost(m) {
			count++
		}
	}
	level, layout, devs := r.rt.level, r.layout, len(r.members)
	if !sb.magicless() {
		level, layout, devs = int(sb.level), int(sb.layout), int(sb.numDevices)
	}
	switch level {
	case 0:
		return true
	case 1:
		return count < devs
	case 10:
		copies := raid10Copies(layout)
		if copies < 2 {
			// a superblock's layout the table did not check
			r.logf("Bogus raid10 data copies < 2!")
			return false
		}
		if count < copies {
			return true
		}
		perGroup := 0
		for i, m := range r.members {
			if i%copies == 0 {
				perGroup = 0
			}
			if (m.meta == nil || !m.inSync) && !m.firstUse {
				perGroup++
				if perGroup >= copies {
					return false
				}
			}
		}
		return true
	}
	return count <= r.rt.parityDevs
}

// superblockFor is super_sync: member i's superblock as md writes it.
// mu held.
func (r *Raid) superblockFor(i int) superblock {
	s := superblock{compat: featureV190, numDevices: uint32(len(r.members)), position: uint32(i),
		events: r.sb.events, recoveryOffset: r.tableMember(i).recoveryOffset, resyncOffset: r.recoveryCp,
		level: uint32(r.rt.level), layout: uint32(r.layout), stripeSectors: uint32(r.chunkSectors),
		reshapePosition: maxSector, newLevel: uint32(r.rt.level), newLayout: uint32(r.layout),
		newStripeSectors: uint32(r.chunkSectors), arraySectors: r.mdArraySectors, sectors: r.rdevSectors,
		dataOffset: r.offSectors, newDataOffset: r.offSectors}
	if i >= len(r.members) {
		// a member a reshape removed (raid_disk -1, not in sync)
		s.position, s.recoveryOffset = ^uint32(0), 0
	}
	if rs := r.rs; rs != nil {
		s.numDevices = uint32(rs.new.disks)
		s.flags, s.reshapePosition, s.deltaDisks = sbFlagReshape, rs.posSectors, uint32(rs.deltaDisks)
		if rs.backwards {
			s.flags |= sbFlagBackwards
		}
		s.newLayout, s.newStripeSectors, s.newDataOffset = uint32(rs.new.layout), uint32(rs.new.chunkSectors), rs.new.offSectors
	}
	for j, m := range r.tableMembers() {
		if m.data == nil || m.faulty {
			s.failed[j/64] |= 1 << (j % 64)
		}
	}
	if r.syncRunning() {
		s.resyncOffset = r.resyncCheckpoint()
	}
	return s
}

// writeSuperblocks is md_update_sb: the event count goes up and every
// metadata device of a member that has not failed gets the bitmap's
// superblock page (md_bitmap_update_sb, same events), then its superblock,
// each as md_super_write sends it: a REQ_PREFLUSH|REQ_FUA write
// (targets.DevWritePreflushFUA).
func (r *Raid) writeSuperblocks() error {
	r.sb.metaMu.Lock()
	defer r.sb.metaMu.Unlock()
	r.mu.Lock()
	if !r.sb.persistent {
		r.mu.Unlock()
		return nil
	}
	r.sb.events++
	type out struct {
		dev targets.Dev
		sb  []byte
		bm  []byte
	}
	var outs []out
	page, bits := r.bitmapPage()
	for i, m := range r.tableMembers() {
		if m.meta == nil || m.faulty {
			continue
		}
		s := r.superblockFor(i)
		b := make([]byte, sbBytes)
		s.put(b)
		o := out{m.meta, b, page}
		if i >= len(r.members) {
			o.bm = nil // md writes the bitmap to the members with a role only
		}
		outs = append(outs, o)
	}
	r.mu.Unlock()
	defer copy(r.sb.diskBits, bits)
	var first error
	for _, o := range outs {
		var err error
		if o.bm != nil {
			err = targets.DevWritePreflushFUA(o.dev, o.bm, bitmapOffsetBytes)
		}
		if err == nil {
			err = targets.DevWritePreflushFUA(o.dev, o.sb, 0)
		}
		if err != nil && first == nil {
			first = fmt.Errorf("metadata device %s: %w", o.dev.Name(), err)
		}
	}
	return first
}

// syncSectors is the bitmap's sync_size (resync_max_sectors): raid10
// resyncs the array's sectors, the others each member's.
func (r *Raid) syncSectors() uint64 {
	if r.rt.level == 10 {
		return r.mdArraySectors
	}
	return r.devSectors
}

// bitmapPage is the bitmap superblock and bits as written, up to the
// end of the sector holding the last region's bit, the bits past it set
// (as md leaves them), and a copy of the regions' bits; events_cleared
// catches up with events first unless a member is degraded. nil without
// a bitmap. mu held.
func (r *Raid) bitmapPage() (page, bits []byte) {
	if !r.sb.bitmap {
		return nil, nil
	}
	bitsBytes := (r.sb.regions + 7) / 8
	n := (bitmapSuperBytes + bitsBytes + sbBytes - 1) / sbBytes * sbBytes
	b := make([]byte, n)
	sleep := uint32(defaultDaemonSleep)
	if r.flags&flagDaemonSleep != 0 && r.daemonSleepMs >= 1000 {
		sleep = uint32(r.daemonSleepMs / 1000)
	}
	if !r.degraded() || r.sb.events < r.sb.eventsCleared {
		r.sb.eventsCleared = r.sb.events
	}
	bs := bitmapSuper{version: bitmapVersion, events: r.sb.events, eventsCleared: r.sb.eventsCleared, syncSectors: r.syncSectors(),
		chunkBytes: uint32(r.regionSectors * sectorBytes), daemonSleepSec: sleep, writeBehind: uint32(min(r.maxWriteBehindKB, counterMax/2))}
	bs.put(b)
	onDisk := b[bitmapSuperBytes:]
	copy(onDisk, r.sb.bits)
	for i := r.sb.regions; i < uint64(len(onDisk))*8 && !r.sb.padClear; i++ {
		onDisk[i/8] |= 1 << (i % 8)
	}
	return b, append([]byte(nil), r.sb.bits...)
}

// loadBitmap is md_bitmap_create and md_bitmap_load, at md_run: a new
// array gets a new bitmap; an existing one's is read from the first
// member in sync, and refused when it is not md's (the kernel then fails
// to run the array); one whose events are behind the superblocks' makes
// every region need a resync, otherwise its set bits do. mu held or the
// target not shared yet.
func (r *Raid) loadBitmap() error {
	if !r.sb.persistent || r.rt.level == 0 || r.journal != nil || r.flags&flagSync != 0 || r.sb.bitmapReady {
		// super_validate gives raid0 and journaled raid4/5/6 no bitmap,
		// and is not called with sync
		return nil
	}
	r.sb.bitmapReady, r.sb.bitmap = true, true
	r.sb.eventsCleared = r.sb.events // a new or stale bitmap's (md_bitmap_read_sb)
	r.sb.regions = (r.syncSectors() + r.regionSectors - 1) / r.regionSectors
	r.sb.bits = make([]byte, (r.sb.regions+7)/8)
	r.sb.needResync = make([]byte, len(r.sb.bits))
	r.sb.written = make([]byte, len(r.sb.bits))
	r.sb.diskBits = make([]byte, len(r.sb.bits))
	var src *member
	for _, m := range r.members {
		if m.meta != nil && !m.faulty && !m.firstUse && m.inSync {
			src = m
			break
		}
	}
	if src == nil || r.firstUse || r.sb.newBitmap {
		return nil
	}
	b := make([]byte, bitmapSuperBytes+len(r.sb.bits))
	if _, err := src.meta.ReadAt(b, bitmapOffsetBytes); err != nil {
		return targets.Errorf(syscall.EIO, "Failed to run raid array")
	}
	bs, err := parseBitmapSuper(b)
	if err != nil {
		return targets.Invalid("Failed to run raid array")
	}
	if bs.events < r.sb.events || bs.state&bitmapStaleBit != 0 {
		r.sb.stale = true
		return nil
	}
	r.sb.eventsCleared = bs.eventsCleared
	copy(r.sb.needResync, b[bitmapSuperBytes:])
	if r.sb.regions%8 != 0 {
		// md writes back the page it read: a reshape's clear padding stays
		r.sb.padClear = r.sb.padClear || r.sb.needResync[r.sb.regions/8]&(1<<(r.sb.regions%8)) == 0
	}
	for i := r.sb.regions; i < uint64(len(r.sb.needResync))*8; i++ {
		r.sb.needResync[i/8] &^= 1 << (i % 8) // md's padding past the last region
	}
	copy(r.sb.bits, r.sb.needResync)
	return nil
}

// markDirty is md_bitmap_startwrite: before a write, the regions it
// touches are set in the bitmap on every metadata device; it returns once
// their bits are there (written and flushed, by this write or another).
func (r *Raid) markDirty(sector, lenSectors uint64) {
	r.mu.Lock()
	if !r.sb.bitmap || lenSectors == 0 {
		r.mu.Unlock()
		return
	}
	first, last := r.regionRange(sector, lenSectors)
	last = min(last, r.sb.regions-1)
	for reg := first; reg <= last; reg++ {
		r.sb.written[reg/8] |= 1 << (reg % 8)
		r.sb.bits[reg/8] |= 1 << (reg % 8)
	}
	r.mu.Unlock()
	r.sb.metaMu.Lock()
	defer r.sb.metaMu.Unlock()
	for reg := first; reg <= last; reg++ {
		if r.sb.diskBits[reg/8]&(1<<(reg%8)) == 0 {
			r.writeBitmapLocked()
			return
		}
	}
}

// regionRange is the bitmap regions an array range touches.
func (r *Raid) regionRange(sector, lenSectors uint64) (uint64, uint64) {
	start, end := sector, sector+lenSectors-1
	if r.rt.level != 1 && r.rt.level != 10 {
		dataDisks := uint64(len(r.members) - r.rt.parityDevs)
		start = start / (r.chunkSectors * dataDisks) * r.chunkSectors
		end = end/(r.chunkSectors*dataDisks)*r.chunkSectors + r.chunkSectors - 1
	}
	return start / r.regionSectors, end / r.regionSectors
}

// writeBitmap writes the bitmap page to every metadata device as
// write_sb_page does (md_super_write: REQ_PREFLUSH|REQ_FUA).
func (r *Raid) writeBitmap() {
	r.sb.metaMu.Lock()
	defer r.sb.metaMu.Unlock()
	r.writeBitmapLocked()
}

// writeBitmapLocked is writeBitmap with metaMu held.
func (r *Raid) writeBitmapLocked() {
	r.mu.Lock()
	page, bits := r.bitmapPage()
	var devs []targets.Dev
	for _, m := range r.members {
		if m.meta != nil && !m.faulty {
			devs = append(devs, m.meta)
		}
	}
	r.mu.Unlock()
	for _, d := range devs {
		targets.DevWritePreflushFUA(d, page, bitmapOffsetBytes)
	}
	copy(r.sb.diskBits, bits)
}

// flushBitmap is the bitmap daemon's work after a flush of the members:
// regions not written since the previous flush are clean again (unless a
// sync still needs them; md too clears a bit only after a quiet daemon
// period, so that a region being written keeps its bit), and the cleared
// bits reach the metadata devices. all clears every region written
// before (a suspend).
func (r *Raid) flushBitmap(all bool) error {
	r.mu.Lock()
	if !r.sb.bitmap || r.syncRunning() || r.recoveryCp != maxSector || r.degraded() {
		r.mu.Unlock()
		return nil
	}
	changed := false
	for i := range r.sb.bits {
		keep := r.sb.needResync[i]
		if !all {
			keep |= r.sb.written[i]
		}
		if r.sb.bits[i]&^keep != 0 {
			r.sb.bits[i] &= keep
			changed = true
		}
		r.sb.written[i] = 0
	}
	r.mu.Unlock()
	if changed {
		r.writeBitmap()
	}
	return nil
}

// degraded reports a member that does not hold its data: md keeps the
// bitmap's bits set then, for the member's recovery. mu held.
func (r *Raid) degraded() bool {
	for _, m := range r.members {
		if !m.usable() || !m.inSync {
			return true
		}
	}
	return false
}

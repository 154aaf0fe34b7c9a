package raid

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// build is the rest of raid_ctr after the devices: the sizes, the
// superblocks, the sync to do, md_run's refusals, the stripe cache and
// discards; a live table rebuilt in a later process takes back its
// saved sync state.
func (r *Raid) build() error {
	if err := r.setSizes(r.ctx.Len); err != nil {
		return err
	}
	r.rdevSectors, r.mdArraySectors = r.devSectors, r.arraySectors
	if err := r.analyseSuperblocks(); err != nil {
		return err
	}
	for _, m := range r.members {
		m.data = atOffset(m.raw, r.offSectors)
	}
	hasData := false
	for _, m := range r.members {
		hasData = hasData || m.data != nil
	}
	if !hasData {
		return targets.Invalid("Invalid rdev size")
	}
	if r.firstUse {
		if r.rt.level == 6 && r.flags&flagNosync != 0 {
			return targets.Invalid("'nosync' not allowed for new raid6 set")
		}
		r.recoveryCp = 0
		if r.rt.level == 0 || r.rt.level != 6 && r.flags&flagNosync != 0 {
			r.recoveryCp = maxSector
		}
	} else if r.flags&flagRebuild != 0 {
		r.recoveryCp = maxSector
	}
	if err := r.run(); err != nil {
		return err
	}
	if err := r.checkReshape(); err != nil {
		return err
	}
	if err := r.loadBitmap(); err != nil {
		return err
	}
	if r.rt.level >= 4 && r.rt.level <= 6 {
		if err := r.setStripeCache(); err != nil {
			return err
		}
	}
	r.configureDiscards()
	if r.rt.level == 10 {
		r.setupRaid10()
	}
	r.action = actIdle
	if r.journal != nil {
		// md_start: r5l_start loads (and recovers) the log at the load
		r.jr = newJournal(r.journal, r.settleJournal, r.flushMembers)
		if r.journalWriteBack {
			r.wb = newWBCache(r)
		}
	}
	if r.ctx.Restored && !r.ctx.Inactive {
		if err := r.restore(r.ctx.Saved); err != nil {
			return targets.Invalid(fmt.Sprintf("saved state of %s: %v", r.ctx.DevName, err))
		}
	}
	if !r.ctx.Restored {
		return r.ensureJournal()
	}
	return nil
}

// run is md_run's refusals: raid0 needs every member, raid1 one member
// usable and in sync (raid1_run, EINVAL: lvm2's raid1 with every leg on a
// missing PV), raid10 the layout only superblocks give it and an in-sync
// copy of every chunk, raid4/5/6
// at most their parity members missing or out of sync (raid5_calc_degraded:
// a failed member that came back is to be recovered, so it counts; and
// none missing when not in sync), raid6 four members. Outside a reshape
// only: one adding members leaves them out of sync.
func (r *Raid) run() error {
	failed, degraded := 0, 0
	for _, m := range r.members {
		if !m.usable() {
			failed++
		}
		if !r.operational(m) {
			degraded++
		}
	}
	fail := func(errno syscall.Errno) error { return targets.Errorf(errno, "Failed to run raid array") }
	switch {
	case !r.chunkValid():
		return fail(syscall.EINVAL)
	case r.rt.level == 0 && failed > 0:
		return fail(syscall.EINVAL)
	case r.rt.level == 1 && degraded == len(r.members):
		return fail(syscall.EINVAL)
	case r.rt.level == 10 && !r.sb.persistent:
		return fail(syscall.EINVAL)
	case r.rt.level == 10:
		copies := raid10Copies(r.layout)
		for g := 0; g+copies <= len(r.members); g += copies {
			alive := 0
			for _, m := range r.members[g : g+copies] {
				if r.operational(m) {
					alive++
				}
			}
			if alive == 0 {
				return fail(syscall.EIO)
			}
		}
	case r.rt.level == 6 && len(r.members) < 4:
		return fail(syscall.EINVAL)
	case r.rt.level >= 4 && degraded > r.rt.parityDevs:
		return fail(syscall.EIO)
	case r.rt.level >= 4 && r.rt.level <= 6 && failed > 0 && r.recoveryCp != maxSector:
		return fail(syscall.EIO)
	}
	return nil
}

// operational reports whether member m counts as working when the array
// starts: usable and, outside a reshape, in sync.
func (r *Raid) operational(m *member) bool {
	return m.usable() && (m.inSync || r.rs != nil)
}

// chunkValid is the personalities' check of the chunk size, which a
// superblock may give (checkLayout takes it): raid0 needs one; raid10 a
// power of 2 of at least a page; raid4/5/6 a power of 2 in whole pages.
func (r *Raid) chunkValid() bool {
	c := r.chunkSectors
	switch {
	case r.rt.level == 0:
		return c != 0
	case r.rt.level == 10:
		return c >= pageSectors && targets.PowerOfTwo(c)
	case r.rt.level >= 4:
		return c != 0 && c%pageSectors == 0 && targets.PowerOfTwo(c)
	}
	return true
}

// setStripeCache is rs_set_raid456_stripe_cache: at least half a chunk
// of entries; md takes 17 to 32768.
func (r *Raid) setStripeCache() error {
	minStripes := int(r.chunkSectors / 2)
	nr := r.stripeCache
	if nr < minStripes {
		r.logf("Adjusting requested %d stripe cache entries to %d to suit stripe size", nr, minStripes)
		nr = minStripes
	}
	if nr != 256 {
		if nr <= 16 || nr > 32768 {
			return targets.Invalid("Failed to set raid4/5/6 stripe cache size")
		}
		r.logf("%d stripe cache entries", nr)
	}
	r.stripeCache = nr
	return nil
}

// configureDiscards is configure_discard_support: discards pass when
// every member has a data device that takes them; raid4/5/6 refuse them
// (devices_handle_discard_safely is off), saying so once the first
// member is seen.
func (r *Raid) configureDiscards() {
	for _, m := range r.members {
		if m.data == nil || !targets.DevSupportsDiscards(m.data) {
			return
		}
		if r.rt.level >= 4 && r.rt.level <= 6 {
			r.logf("raid456 discard support disabled due to discard_zeroes_data uncertainty.")
			r.logf("Set dm-raid.devices_handle_discard_safely=Y to override.")
			return
		}
	}
	r.discards = true
}

// PreResume is raid_preresume: the first one writes the superblocks and
// loads the bitmap.
func (r *Raid) PreResume() error {
	r.mu.Lock()
	if r.preresumed {
		r.mu.Unlock()
		return nil
	}
	r.preresumed = true
	r.mu.Unlock()
	if err := r.ensureJournal(); err != nil {
		return err
	}
	r.writeSuperblocks()
	return nil
}

// Resume is raid_resume: from the second resume on, failed members
// whose metadata device still reads are revived (and recovered); the
// array runs, its sync (if any) starts.
func (r *Raid) Resume() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.resumed {
		r.reviveFaulty()
	}
	r.resumed, r.live, r.frozen = true, true, false
	r.startSync()
}

// reviveFaulty is attempt_restore_of_faulty_devices: a failed member
// whose superblock reads is taken back, to be recovered from offset 0.
// mu held.
func (r *Raid) reviveFaulty() {
	for i, m := range r.members {
		if !m.faulty || m.meta == nil {
			continue
		}
		if _, err := m.meta.ReadAt(make([]byte, sbBytes), 0); err != nil {
			continue
		}
		r.logf("Faulty %s device #%d has readable super block.  Attempting to revive it.", r.rt.name, i)
		m.faulty, m.inSync, m.recoveryOffset = false, false, 0
	}
}

// PostSuspend is raid_postsuspend: the sync stops (md_stop_writes), the
// members are flushed, the bitmap cleaned and the superblocks written.
func (r *Raid) PostSuspend() error {
	r.quiesce()
	return nil
}

// quiesce stops the sync and leaves the metadata clean: writeback's cache
// written out (the log kept when that fails, for the next load to replay),
// the members flushed, the bitmap cleaned and the log emptied. md_stop_writes
// flushes no member before its bitmap says every region clean; gdmsetup
// does, so that a crash after the stop cannot leave a leg's last writes
// unsynced under a clean bitmap (one more flush entry in a log-writes log
// under each member).
func (r *Raid) quiesce() {
	r.mu.Lock()
	r.stopSync()
	r.live = false
	r.mu.Unlock()
	var err error
	if r.wb != nil {
		err = r.wb.writeOutAll()
	}
	r.flush(true)
	if r.jr != nil && err == nil {
		r.jr.quiesce()
	}
	r.writeSuperblocks()
}

// settleJournal makes the members hold everything the journal logged
// (writeback's cache written out, the members flushed), for the log to
// start again.
func (r *Raid) settleJournal() error {
	if r.wb != nil {
		if err := r.wb.writeOutAll(); err != nil {
			return err
		}
	}
	return r.flushMembers()
}

// Destroy is raid_dtr: md_stop.
func (r *Raid) Destroy() {
	if r.preresumed {
		r.quiesce()
	}
}

// Close stops the sync and waits for the journal's background flush;
// the metadata is written as md leaves it.
func (r *Raid) Close() error {
	r.mu.Lock()
	r.stopSync()
	r.mu.Unlock()
	if r.jr != nil {
		r.jr.preFlushed.Wait()
	}
	return nil
}

// savedPrefix starts a saved raid state: its format's name and version.
const savedPrefix = "raid-v1:"

// savedState is what md keeps in memory for a live array.
type savedState struct {
	RecoveryCp, Curr, Mismatches uint64
	Requested, LastAction        string
	RecoverDone, Frozen          bool
	Interrupted, Preresumed      bool
	Events                       uint64
	Members                      [][4]uint64 // faulty, in sync, recovery offset, waiting (legs.go)
	Bits, Need                   []byte
	Stale                        bool
	Journal                      [3]uint64 // the log's head, next seq and chain's seq (all 0: not loaded)
	Shown                        string    // the type the table line names, when not the table's (a reshape's old one)
	ReshapeWaits                 bool      // the table set a reshape up: it runs after the next load
}

// SaveState is targets.StateSaver: the sync goes on for a while, then
// stops where it is, and the array's state is returned for the next
// process.
func (r *Raid) SaveState() string {
	if r.wb != nil {
		// the next process starts with an empty cache; a stripe that
		// cannot be written out (the array failed) stays in the log
		r.wb.writeOutAll()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.drainSync()
	r.stopSync()
	st := savedState{RecoveryCp: r.recoveryCp, Curr: r.currSectors, Mismatches: r.mismatches, Requested: r.requested,
		LastAction: r.lastAction, RecoverDone: r.recoverDone, Frozen: r.frozen, Interrupted: r.interrupted,
		Preresumed: r.preresumed, Events: r.sb.events, Bits: r.sb.bits, Need: r.sb.needResync, Stale: r.sb.stale}
	for _, m := range r.members {
		st.Members = append(st.Members, [4]uint64{b2u(m.faulty), b2u(m.inSync), m.recoveryOffset, b2u(m.waiting)})
	}
	if r.shownType != nil {
		st.Shown = r.shownType.name
	}
	st.ReshapeWaits = r.rs != nil && r.rs.waiting
	if j := r.jr; j != nil {
		j.mu.Lock()
		if j.loaded {
			st.Journal = [3]uint64{j.start, j.seq, j.chainSeq}
		}
		j.mu.Unlock()
	}
	b, _ := json.Marshal(st) // plain values: cannot fail
	return savedPrefix + string(b)
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// restore takes back SaveState's string for the live table rebuilt in a
// later process; without one the array is as after its preresume.
func (r *Raid) restore(saved string) error {
	r.live, r.preresumed, r.resumed = true, true, true
	if saved == "" {
		return r.ensureJournal()
	}
	body, ok := strings.CutPrefix(saved, savedPrefix)
	if !ok {
		return fmt.Errorf("not a saved raid state (no %q)", savedPrefix)
	}
	var st savedState
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		return fmt.Errorf("saved raid state: %w", err)
	}
	if len(st.Members) != len(r.members) {
		return fmt.Errorf("saved raid state has %d members, the table %d", len(st.Members), len(r.members))
	}
	if r.sb.bitmap && (len(st.Bits) != len(r.sb.bits) || len(st.Need) != len(r.sb.needResync)) {
		return fmt.Errorf("saved raid state has a %d-byte bitmap, the table %d", len(st.Bits), len(r.sb.bits))
	}
	r.recoveryCp, r.currSectors, r.mismatches, r.requested = st.RecoveryCp, st.Curr, st.Mismatches, st.Requested
	r.lastAction, r.recoverDone, r.frozen, r.interrupted = st.LastAction, st.RecoverDone, st.Frozen, st.Interrupted
	r.sb.events, r.sb.stale = st.Events, st.Stale
	r.shownType = nil
	if st.Shown != "" {
		if r.shownType = raidTypeByName(st.Shown); r.shownType == nil {
			return fmt.Errorf("saved raid state names type %q", st.Shown)
		}
	}
	if r.rs != nil {
		// the superblocks cannot tell the table that set the reshape up
		r.rs.waiting = st.ReshapeWaits
	}
	if r.sb.bitmap {
		copy(r.sb.bits, st.Bits)
		copy(r.sb.needResync, st.Need)
	}
	for i, x := range st.Members {
		m := r.members[i]
		m.faulty, m.inSync, m.recoveryOffset, m.waiting = x[0] == 1, x[1] == 1, x[2], x[3] == 1
	}
	if j := r.jr; j != nil && st.Journal[1] != 0 {
		j.start, j.seq, j.chainSeq = st.Journal[0], st.Journal[1], st.Journal[2]
		// a process that went on from this state and was killed before
		// it saved its own left writes in the log the state does not
		// know of (writeback's cache among them): they are recovered as
		// at a load
		j.loaded = !j.movedOn()
	}
	if err := r.ensureJournal(); err != nil {
		return err
	}
	if !r.ctx.Suspended {
		r.startSync()
	} else {
		r.live = false
	}
	return nil
}

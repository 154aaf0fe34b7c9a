package raid

import (
	"bytes"
	"sync"
	"time"
)

// The sync actions (dm-raid's enum sync_state, as sync_str prints them).
const (
	actIdle    = "idle"
	actFrozen  = "frozen"
	actResync  = "resync"
	actRecover = "recover"
	actCheck   = "check"
	actRepair  = "repair"
)

// syncState is md's sync thread and recovery flags for the array.
// Concurrency: the Raid's mu guards every field; cond (on mu) wakes
// whoever waits for the worker to stop or to have nothing left to do.
type syncState struct {
	recoveryCp  uint64 // md's recovery_cp: resync done up to here (maxSector: all)
	action      string // what the worker is doing (actIdle when nothing)
	requested   string // check or repair asked for by a message
	currSectors uint64 // curr_resync_completed of the action running or last run
	mismatches  uint64 // resync_mismatches, in sectors
	lastAction  string // last_sync_action
	recoverDone bool   // the last action was a recovery that completed
	frozen      bool   // MD_RECOVERY_FROZEN
	live        bool   // resumed: the worker may run
	firstUse    bool   // the superblocks were created by this table
	preresumed  bool
	resumed     bool // RT_FLAG_RS_RESUMED: resumed once
	workerDone  chan struct{}
	stopWorker  bool
	interrupted bool
}

func newCond(mu *sync.Mutex) *sync.Cond { return sync.NewCond(mu) }

// syncStepSectors is how much a sync step covers (member or array
// sectors): I/O waits for the step in flight.
const syncStepSectors = 2048

// drainBudget is how long a process that releases a live array lets its
// sync go on (the kernel's runs on its own).
const drainBudget = 2 * time.Second

// syncRunning reports a sync action in progress. mu held.
func (r *Raid) syncRunning() bool { return r.workerDone != nil && r.action != actIdle }

// resyncCheckpoint is where a running resync has got to. mu held.
func (r *Raid) resyncCheckpoint() uint64 {
	if r.action == actResync {
		return r.currSectors
	}
	return r.recoveryCp
}

// maxSyncSectors is resync_max_sectors.
func (r *Raid) maxSyncSectors() uint64 {
	if r.rt.level == 0 {
		return r.devSectors
	}
	return r.syncSectors()
}

// nextAction is md_choose_sync_action: a requested check or repair, a
// resync when recovery_cp or the bitmap says so, the recovery of members
// not in sync. mu held.
func (r *Raid) nextAction() string {
	switch {
	case r.rt.level == 0 || r.frozen || !r.live:
		return ""
	case r.rs != nil && r.rs.waiting, r.legsWaiting():
		return ""
	case r.rs != nil:
		return actReshape
	case r.requested != "":
		return r.requested
	}
	for _, m := range r.members {
		if m.data != nil && !m.faulty && !m.inSync {
			// remove_and_add_spares comes before a resync
			return actRecover
		}
	}
	if r.recoveryCp < r.maxSyncSectors() || r.sb.stale || r.bitsNeeded() {
		return actResync
	}
	return ""
}

// recovering reports a member being recovered. mu held.
func (r *Raid) recovering() bool {
	for _, m := range r.members {
		if m.data != nil && !m.faulty && !m.inSync {
			return true
		}
	}
	return false
}

func (r *Raid) bitsNeeded() bool {
	for _, b := range r.sb.needResync {
		if b != 0 {
			return true
		}
	}
	return false
}

// startSync starts the worker when there is work. mu held.
func (r *Raid) startSync() {
	if r.workerDone != nil || r.nextAction() == "" {
		return
	}
	r.stopWorker = false
	r.workerDone = make(chan struct{})
	go r.syncWorker(r.workerDone)
}

// stopSync interrupts the worker (MD_RECOVERY_INTR) and waits for it.
// mu held; released while waiting.
func (r *Raid) stopSync() {
	done := r.workerDone
	if done == nil {
		return
	}
	r.stopWorker = true
	r.mu.Unlock()
	<-done
	r.mu.Lock()
}

// drainSync lets the worker go on until it is done or drainBudget has
// passed. mu held; released while waiting.
func (r *Raid) drainSync() {
	if r.workerDone == nil {
		return
	}
	expired := false
	timer := time.AfterFunc(drainBudget, func() {
		r.mu.Lock()
		expired = true
		r.cond.Broadcast()
		r.mu.Unlock()
	})
	defer timer.Stop()
	for r.workerDone != nil && !expired {
		r.cond.Wait()
	}
}

// syncWorker is md_do_sync, looped while there is work: the action runs
// step by step over its range, I/O held back for each step; at its end
// (md_reap_sync_thread) recovery_cp, the members' recovery and the
// superblocks are updated and the table event raised.
func (r *Raid) syncWorker(done chan struct{}) {
	r.mu.Lock()
	defer func() {
		r.workerDone = nil
		r.action = actIdle
		r.cond.Broadcast()
		r.mu.Unlock()
		close(done)
	}()
	for !r.stopWorker {
		act := r.nextAction()
		if act == "" {
			return
		}
		r.action, r.lastAction, r.interrupted, r.recoverDone = act, act, false, false
		if act == actReshape {
			if !r.runReshape() {
				return
			}
			r.event()
			continue
		}
		start := uint64(0)
		switch act {
		case actResync:
			if r.recoveryCp != maxSector && !r.sb.stale && !r.bitsNeeded() {
				start = r.recoveryCp
			}
		case actRecover:
			start = maxSector
			for _, m := range r.members {
				if m.data != nil && !m.faulty && !m.inSync {
					start = min(start, m.recoveryOffset)
				}
			}
		case actCheck, actRepair:
			r.mismatches = 0
		}
		end := r.maxSyncSectors()
		r.currSectors = start
		pos := start
		for pos < end && !r.stopWorker && !r.frozen && (act != actRecover || r.recovering()) {
			n := min(uint64(syncStepSectors), end-pos)
			r.mu.Unlock()
			r.ioMu.Lock()
			mism := r.syncStep(act, pos, n)
			r.ioMu.Unlock()
			r.mu.Lock()
			r.mismatches += mism
			pos += n
			r.currSectors = pos
			if act == actRecover {
				for _, m := range r.members {
					if m.data != nil && !m.faulty && !m.inSync {
						m.recoveryOffset = pos
					}
				}
			}
		}
		if pos < end && (act != actRecover || r.recovering()) {
			r.interrupted = true
			if act == actResync {
				r.recoveryCp = pos
			}
			return
		}
		r.mu.Unlock()
		// what the action wrote reaches the members before the
		// superblocks say it is there (a recovered leg in sync)
		r.flushMembers()
		r.mu.Lock()
		r.finishAction(act)
		r.mu.Unlock()
		r.writeSuperblocks()
		r.mu.Lock()
		r.event()
	}
}

// finishAction records a completed action. mu held.
func (r *Raid) finishAction(act string) {
	switch act {
	case actResync:
		r.recoveryCp = maxSector
		r.sb.stale = false
		clear(r.sb.needResync)
	case actRecover:
		for _, m := range r.members {
			if m.data != nil && !m.faulty && !m.inSync {
				m.inSync, m.recoveryOffset = true, maxSector
			}
		}
		r.recoverDone = true
	case actCheck, actRepair:
		r.requested = ""
	}
	r.action, r.currSectors = actIdle, 0
}

// syncStep runs the action over n sectors from pos (member sectors, or
// array sectors for raid10) and returns the mismatches found (check and
// repair), in sectors. ioMu held exclusively.
func (r *Raid) syncStep(act string, pos, n uint64) uint64 {
	if act == actResync && !r.regionNeeded(pos, n) {
		return 0
	}
	if r.rt.level >= 4 && r.rt.level <= 6 {
		return r.syncRows(act, pos, n)
	}
	var mism uint64
	unit := uint64(128) // a resync bio's 64 KiB
	if r.rt.level == 10 {
		unit = r.chunkSectors // raid10's copies are placed per chunk
	}
	for s := pos; s < pos+n; s += unit {
		m := min(unit, pos+n-s)
		if r.syncCopies(act, s, m) {
			mism += m
		}
	}
	return mism
}

// regionNeeded reports whether a resync has to go through the range:
// beyond recovery_cp, or a region the bitmap holds dirty.
func (r *Raid) regionNeeded(pos, n uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sb.stale || pos+n > r.recoveryCp {
		return true
	}
	if !r.sb.bitmap {
		return false
	}
	for reg := pos / r.regionSectors; reg <= (pos+n-1)/r.regionSectors && reg < r.sb.regions; reg++ {
		if r.sb.needResync[reg/8]&(1<<(reg%8)) != 0 {
			return true
		}
	}
	return false
}

// syncCopies is raid1's and raid10's sync of n sectors from s: the first
// member in sync is read, then the others compared (check), or written
// where they differ (repair, resync) or wholly (recover). It reports a
// mismatch.
func (r *Raid) syncCopies(act string, s, n uint64) bool {
	var locs []loc
	if r.rt.level == 1 {
		locs = r.copies(s)
	} else {
		locs = r.raid10Locs(s)
	}
	src := make([]byte, n*sectorBytes)
	srcIdx := -1
	for i, l := range locs {
		m := r.members[l.disk]
		if !r.usable(l.disk) || !r.inSyncAt(l.disk) {
			continue
		}
		if _, err := m.data.ReadAt(src, int64(l.sector)*sectorBytes); err != nil {
			r.fail(l.disk)
			continue
		}
		srcIdx = i
		break
	}
	if srcIdx < 0 {
		return false
	}
	mismatch := false
	other := make([]byte, len(src))
	for i, l := range locs {
		if i == srcIdx || !r.usable(l.disk) {
			continue
		}
		m := r.members[l.disk]
		if act != actRecover || r.inSyncAt(l.disk) {
			if _, err := m.data.ReadAt(other, int64(l.sector)*sectorBytes); err != nil {
				r.fail(l.disk)
				continue
			}
			if bytes.Equal(other, src) {
				continue
			}
			mismatch = true
			if act == actCheck || act == actRecover {
				continue
			}
		}
		if _, err := m.data.WriteAt(src, int64(l.sector)*sectorBytes); err != nil {
			r.fail(l.disk)
		}
	}
	return mismatch
}

// inSyncAt reports whether member i holds its data (not being recovered).
func (r *Raid) inSyncAt(i int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.members[i].inSync
}

// syncRows is raid4/5/6's sync of member sectors [pos, pos+n): each row
// read, its parity computed; a check counts the pages whose parity
// differs, a resync or repair writes it, a recovery writes what the
// members being recovered hold.
func (r *Raid) syncRows(act string, pos, n uint64) uint64 {
	var mism uint64
	for s := pos; s < pos+n; {
		stripe, off := s/r.chunkSectors, s%r.chunkSectors
		m := min(r.chunkSectors-off, pos+n-s)
		dataDisks := uint64(len(r.members) - r.rt.parityDevs)
		rw := r.rowOf(stripe * dataDisks)
		unlock := r.rowLock(rw)
		if act == actRecover {
			r.recoverRow(rw, off, m)
		} else {
			mism += r.checkRow(act, rw, off, m)
		}
		unlock()
		s += m
	}
	return mism
}

// recoverRow rebuilds the row's chunks of members being recovered.
func (r *Raid) recoverRow(rw *row, off, n uint64) {
	bufs := make([][]byte, len(r.members))
	var targets []int
	for i, m := range r.members {
		if !r.usable(i) {
			continue
		}
		if !r.inSyncAt(i) {
			targets = append(targets, i)
			continue
		}
		b := make([]byte, n*sectorBytes)
		if _, err := m.data.ReadAt(b, int64(rw.stripe*r.chunkSectors+off)*sectorBytes); err != nil {
			r.fail(i)
			continue
		}
		bufs[i] = b
	}
	if r.rebuild(rw, bufs, int(n*sectorBytes)) != nil {
		return
	}
	for _, i := range targets {
		if _, err := r.members[i].data.WriteAt(bufs[i], int64(rw.stripe*r.chunkSectors+off)*sectorBytes); err != nil {
			r.fail(i)
		}
	}
}

// checkRow compares (and for a resync or repair rewrites) the row's
// parity over [off, off+n) and returns the mismatched sectors, counted
// per stripe page as md counts them.
func (r *Raid) checkRow(act string, rw *row, off, n uint64) uint64 {
	bufs, err := r.readRow(rw, off, n)
	if err != nil {
		return 0
	}
	parity := []int{rw.pd}
	if rw.qd >= 0 {
		parity = append(parity, rw.qd)
	}
	old := make([][]byte, len(parity))
	for i, p := range parity {
		old[i] = append([]byte(nil), bufs[p]...)
	}
	r.computeParity(rw, bufs)
	var mism uint64
	page := pageSectors * sectorBytes
	for at := 0; at < len(bufs[rw.pd]); at += page {
		end := min(at+page, len(bufs[rw.pd]))
		for i, p := range parity {
			if !bytes.Equal(old[i][at:end], bufs[p][at:end]) {
				mism += uint64(end-at) / sectorBytes
				break
			}
		}
	}
	if act == actCheck || mism == 0 && act != actResync {
		return mism
	}
	for _, p := range parity {
		if r.usable(p) {
			if _, err := r.members[p].data.WriteAt(bufs[p], int64(rw.stripe*r.chunkSectors+off)*sectorBytes); err != nil {
				r.fail(p)
			}
		}
	}
	return mism
}

package raid

import (
	"fmt"
	"strings"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Status is raid_status's STATUSTYPE_INFO: `<raid_type> <#devs>
// <health_chars> <sync_ratio> <sync_action> <mismatch_cnt> <data_offset>
// <journal_char>`, the type named by the array's level and layout.
func (r *Raid) Status() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	name, layout := r.rt.name, r.layout
	if r.rs != nil {
		layout = r.rs.new.layout
	}
	if rt := raidTypeByLevelLayout(r.rt.level, layout); rt != nil {
		name = rt.name
	}
	state := r.syncAction()
	maxSectors := r.devSectors
	if r.preresumed {
		maxSectors = r.maxSyncSectors()
	}
	progress, inSyncFlag, resyncing := r.progress(state, maxSectors)
	var b strings.Builder
	devs := len(r.members) // mddev's raid_disks
	if r.rt.level == 1 && !r.sb.persistent {
		// rs_prepare_reshape counts raid1's delta_disks in at once
		devs += r.deltaDisks
	}
	if r.rs != nil {
		devs = r.rs.new.disks
	}
	fmt.Fprintf(&b, "%s %d ", name, devs)
	for i, m := range r.tableMembers() {
		switch {
		case m.data == nil:
			b.WriteByte('-')
		case m.faulty:
			b.WriteByte('D')
		case resyncing || !inSyncFlag && !m.inSync || i >= len(r.members):
			b.WriteByte('a')
		default:
			b.WriteByte('A')
		}
	}
	mism := uint64(0)
	if r.lastAction == actCheck {
		mism = r.mismatches
	}
	journal := "-"
	if r.journal != nil {
		// __raid_dev_status of the journal: A for writethrough, a for writeback
		journal = "A"
		switch {
		case r.jr != nil && r.jr.failed.Load():
			journal = "D"
		case r.journalWriteBack:
			journal = "a"
		}
	}
	fmt.Fprintf(&b, " %d/%d %s %d %d %s", progress, maxSectors, state, mism, r.offSectors, journal)
	return b.String()
}

// syncAction is decipher_sync_action. mu held.
func (r *Raid) syncAction() string {
	switch {
	case r.frozen || !r.live:
		return actFrozen
	case r.rs != nil:
		// reshape_position is set: the reshape runs or waits to
		return actReshape
	case r.legsWaiting():
		// raid1_reshape asked for the recovery of the new legs, which
		// waits for the next load
		return actRecover
	case r.action != actIdle && r.action != "":
		return r.action
	case r.nextAction() != "":
		// MD_RECOVERY_NEEDED: the worker is about to start
		return r.nextAction()
	}
	return actIdle
}

// progress is rs_get_progress: the sync ratio's numerator, and whether
// the members count as in sync or resyncing for their health characters.
// mu held.
func (r *Raid) progress(state string, maxSectors uint64) (p uint64, inSync, resyncing bool) {
	if r.rt.level == 0 {
		return maxSectors, true, false
	}
	if state == actIdle && !r.interrupted {
		p = r.recoveryCp
	} else {
		p = r.currSectors
	}
	switch {
	case state == actIdle && p >= maxSectors:
		inSync = r.recoverDone
	case state == actRecover:
	case state == actResync || state == actReshape:
		resyncing = true
	case state == actCheck || state == actRepair:
		inSync = true
	default:
		inSync = true
		for _, m := range r.members {
			if !m.inSync {
				inSync = false
			}
		}
	}
	return min(p, maxSectors), inSync, resyncing
}

// Table is raid_status's STATUSTYPE_TABLE: the parameters in the
// kernel's canonical order, their count first, then the members.
func (r *Raid) Table() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var params []string
	add := func(f ctrFlags, words ...string) {
		if r.flags&f != 0 {
			params = append(params, words...)
		}
	}
	add(flagSync, "sync")
	add(flagNosync, "nosync")
	for i, m := range r.members {
		if m.rebuild {
			params = append(params, "rebuild", fmt.Sprint(i))
		}
	}
	add(flagDaemonSleep, "daemon_sleep", fmt.Sprint(r.daemonSleepMs))
	add(flagMinRecoveryRate, "min_recovery_rate", fmt.Sprint(r.minRecoveryRate))
	add(flagMaxRecoveryRate, "max_recovery_rate", fmt.Sprint(r.maxRecoveryRate))
	for i, m := range r.members {
		if m.writeMostly {
			params = append(params, "write_mostly", fmt.Sprint(i))
		}
	}
	add(flagMaxWriteBehind, "max_write_behind", fmt.Sprint(r.maxWriteBehindKB))
	add(flagStripeCache, "stripe_cache", fmt.Sprint(r.stripeCache))
	add(flagRegionSize, "region_size", fmt.Sprint(r.regionSectors))
	add(flagRaid10Copies, "raid10_copies", fmt.Sprint(raid10Copies(r.layout)))
	add(flagRaid10Format, "raid10_format", raid10Format(r.layout))
	add(flagDeltaDisks, "delta_disks", fmt.Sprint(r.deltaDisks))
	add(flagDataOffset, "data_offset", fmt.Sprint(r.dataOffset))
	add(flagJournalDev, "journal_dev", devName(r.journal))
	mode := "writethrough"
	if r.journalWriteBack {
		mode = "writeback"
	}
	add(flagJournalMode, "journal_mode", mode)
	var b strings.Builder
	name, chunk := r.rt.name, r.chunkSectors
	if r.shownType != nil {
		name = r.shownType.name
	}
	if r.rs != nil {
		chunk = r.rs.new.chunkSectors // mddev's new_chunk_sectors
	}
	fmt.Fprintf(&b, "%s %d %d", name, 1+len(params), chunk)
	for _, p := range params {
		b.WriteString(" " + p)
	}
	fmt.Fprintf(&b, " %d", len(r.tableMembers()))
	for _, m := range r.tableMembers() {
		fmt.Fprintf(&b, " %s %s", devName(m.meta), devName(m.data))
	}
	return b.String()
}

func devName(d targets.Dev) string {
	if d == nil {
		return "-"
	}
	return d.Name()
}

// Message is raid_message: idle and frozen stop a sync in progress
// (frozen keeps it from starting again); resync, recover, check and
// repair start one when none runs (EBUSY otherwise); any other word is
// refused, as is any message to raid0. Every word but frozen unfreezes.
func (r *Raid) Message(args []string) (string, error) {
	if r.rt.level == 0 || len(args) == 0 {
		return "", syscall.EINVAL
	}
	word := targets.LowerASCII(args[0])
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frozen = word == actFrozen
	switch word {
	case actIdle, actFrozen:
		if r.workerDone != nil {
			r.stopSync()
			r.requested = ""
		}
		if word == actIdle {
			r.startSync()
		}
		return "", nil
	}
	if r.syncAction() != actIdle {
		return "", syscall.EBUSY
	}
	switch word {
	case actResync, actRecover:
	case actCheck, actRepair:
		r.requested = word
	default:
		return "", syscall.EINVAL
	}
	r.startSync()
	return "", nil
}

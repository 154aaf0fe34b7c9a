package raid

import (
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// A takeover is a table naming another raid level than the superblocks
// hold (LVM's lvconvert --type between levels): md changes the array's
// personality in place. The pairs md allows keep every chunk where it is
// on the members the two levels share (raid1 on two members and raid5 on
// two are both mirrors, raid0's members are raid5_n's and raid6_n_6's
// data members, raid5_ls's are raid6_ls_6's first n-1, ...); members the
// new level adds are named by rebuild and recovered by the sync as any
// member to rebuild. Nothing else moves: a table asking for a pair whose
// chunks do not line up (md checks the levels, not the member counts)
// gets what md gives it, the members read under the new level.

// takeoverPossible is rs_check_takeover's matrix: whether md takes a set
// of the superblock's level and layout on its member count over to the
// table's level and layout. raid0 tables never ask (dm-raid validates no
// superblock for them, so md's takeovers to raid0 are not reached), nor
// do tables for level 4 (dm-raid's raid4 is level 5 with parity on
// member 0); a superblock may still say level 4.
func (r *Raid) takeoverPossible(from *superblock) bool {
	level, layout, fromDevs := int(from.level), int(from.layout), int(from.numDevices)
	toLevel, toLayout := r.rt.level, r.layout
	switch level {
	case 0:
		switch toLevel {
		case 1:
			return fromDevs == 1
		case 5:
			return fromDevs == 1 || toLayout == algParityN && fromDevs > 1
		case 6:
			return toLayout == algParityN && fromDevs > 1
		case 10:
			return len(r.members)%fromDevs == 0
		}
	case 10:
		switch {
		case raid10IsOffset(layout):
			return false
		case toLevel == 1:
			return raid10Copies(layout) == fromDevs
		case toLevel == 5:
			return fromDevs == 2
		}
	case 1:
		switch toLevel {
		case 5:
			return fromDevs == 2
		case 10:
			return true
		}
	case 4:
		switch toLevel {
		case 1:
			return fromDevs == 2
		case 5:
			return fromDevs == 2 || layout == algParityN
		case 6:
			return layout == algParityN
		}
	case 5:
		switch toLevel {
		case 1, 10:
			return fromDevs == 2
		case 6:
			return layout == algParityN && toLayout == algParityN ||
				toLayout >= algLeftAsymmetric6 && toLayout <= algRightSymmetric6
		}
	case 6:
		if toLevel == 5 {
			return layout == algParityN && toLayout == algParityN ||
				toLayout >= algLeftAsymmetric && toLayout <= algRightSymmetric
		}
	}
	return false
}

// takeOver is raid_ctr's takeover branch after the superblocks are
// analysed (rs_check_takeover, rs_setup_takeover): a set still
// resynchronising (gdmsetup does not take it over), a journaled table and
// a pair md does not take over are refused; otherwise the array runs at
// the table's level, layout and chunk size over the table's members (the
// superblocks are rewritten so at the first resume), without a resync,
// and the members named by rebuild are recovered over a new bitmap.
// mu held or the target not shared yet.
func (r *Raid) takeOver(from *superblock) error {
	if r.recoveryCp < r.devSectors {
		// md would run the array at its old level under the new table's
		// name (dm-raid checks a recovering set before a takeover)
		return targets.Errorf(syscall.EPERM, "takeover of a set still resynchronising (at sector %d of %d) not supported", r.recoveryCp, r.devSectors)
	}
	if r.flags&flagJournalDev != 0 {
		return targets.Errorf(syscall.EPERM, "Can't takeover a journaled raid4/5/6 set")
	}
	if !r.takeoverPossible(from) {
		return targets.Invalid("takeover not possible")
	}
	r.recoveryCp = maxSector
	for _, m := range r.members {
		if m.rebuild {
			// an "up" takeover: md_bitmap_new_disk_sb
			r.sb.newBitmap = true
		}
	}
	return nil
}

// takeoverUnsupported is super_init_validation's refusal of a level
// change over superblocks older than the v1.9.0 format (no new_level).
func (r *Raid) takeoverUnsupported(from *superblock) error {
	cur, next := raidTypeByLevelLayout(int(from.level), int(from.layout)), raidTypeByLevelLayout(r.rt.level, r.layout)
	if cur != nil && next != nil {
		r.logf("Takeover raid sets from %s to %s not yet supported by metadata. (raid level change)", cur.name, next.name)
	} else {
		r.logf("Takeover raid sets not yet supported by metadata. (raid level change)")
	}
	return errInvalidSuperblocks
}

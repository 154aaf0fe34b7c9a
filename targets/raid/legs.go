package raid

import (
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// raid1 legs added and removed (LVM's lvconvert -m N), as Linux 6.1 does
// it. dm-raid takes a raid1 table naming another member count than the
// superblocks' in two ways:
//
//   - without delta_disks (rs_prepare_reshape's "raid1 without
//     delta_disks"): md runs the table's count at once. New legs, named by
//     rebuild, are recovered from the others as any rebuild is; legs
//     removed are just left out, the members keep their data and take the
//     table's positions (super_init_validation's "raid device #2 now at
//     position #1"). The superblocks say the new count from the first
//     resume on. analyseSuperblocks carries this out: nothing here.
//   - with delta_disks N (changeLegs): md runs the superblocks' count and
//     raid1_reshape, at the first resume, grows its array by N mirrors;
//     the new legs take the writes (reads go to the others) and their
//     recovery waits for the next load of the set (MD_RECOVERY_WAIT):
//     status `raid1 3 AAa 0/N recover`. The superblocks written at that
//     resume say the new count, the new legs at recovery offset 0, so the
//     next load (any raid1 table of the new count) recovers them.

// changeLegs is raid_ctr's reshape branch for a raid1 table naming
// another member count than the superblocks sb, or delta_disks. A set
// whose resync has not reached its end is not reshaped by md (raid_ctr
// takes it as recovering: it runs at the superblocks' count, which
// gdmsetup does not carry out): refused. Without delta_disks the table's
// count runs. With it, rs_check_reshape's refusals after md_run (the
// array runs at the superblocks' count): a member of that count missing,
// failed or not in sync (delta_disks < 0 always leaves one missing);
// then the legs the superblocks lack wait for the next load. Other counts
// md would take (delta_disks not matching the new legs) are refused as
// before. mu held or the target not shared yet.
func (r *Raid) changeLegs(sb *superblock) error {
	old := int(sb.numDevices)
	if r.recoveryCp < r.devSectors {
		return targets.Errorf(syscall.EPERM, "Reshape not supported")
	}
	if r.flags&flagDeltaDisks == 0 {
		return nil
	}
	degraded := old > len(r.members)
	for _, m := range r.members[:min(old, len(r.members))] {
		degraded = degraded || !m.usable() || !m.inSync
	}
	switch {
	case degraded:
		return targets.Errorf(syscall.EPERM, "Can't reshape degraded raid set")
	case r.deltaDisks < 0 || old+r.deltaDisks != len(r.members):
		return targets.Errorf(syscall.EPERM, "Reshape not supported")
	}
	for _, m := range r.members[old:] {
		// rs_setup_reshape: recovered from 0 once the wait is over
		m.waiting, m.inSync, m.recoveryOffset = true, false, 0
	}
	r.sb.padClear = true // as 6.1 leaves the bitmap of a set it reshapes
	return nil
}

// legsWaiting reports raid1 legs delta_disks added, waiting for the next
// load to be recovered. mu held.
func (r *Raid) legsWaiting() bool {
	for _, m := range r.members {
		if m.waiting {
			return true
		}
	}
	return false
}

package raid

import (
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// minFreeReshapeSectors is MIN_FREE_RESHAPE_SPACE (4 pages).
const minFreeReshapeSectors = 4 * 4096 / targets.SectorSize

// minJournalSectors is MIN_RAID456_JOURNAL_SPACE (4 MiB).
const minJournalSectors = 4 * 2048

// New is raid_ctr, with the kernel's checks in its order: the raid type,
// the parameter count (dm_read_arg_group), the device count, then
// parse_raid_params (the chunk size, each optional parameter as it comes,
// then the checks between them, the region size, raid10's layout and the
// flags the level accepts), parse_dev_params (each member's metadata
// device before its data device), the array and member sizes, the
// superblocks on the metadata devices, and md_run's refusals (too few
// members left to run). A reshape (delta_disks, a layout or chunk size
// that differs from the superblocks') is refused as a kernel without the
// feature refuses it. A journal device's log is recovered here, as
// md_start does (journal_recovery.go).
func New(ctx *targets.Context, args []string) (targets.Target, error) {
	as := &targets.ArgSet{Args: args}
	argc := uint64(len(args))
	name, ok := as.Shift()
	if !ok {
		return nil, targets.Invalid("No arguments")
	}
	rt := raidTypeByName(name)
	if rt == nil {
		return nil, targets.Invalid("Unrecognised raid_type")
	}
	nrParams, err := as.ReadArgGroup(0, argc, "Cannot understand number of raid parameters")
	if err != nil {
		return nil, err
	}
	rest := as.Args[nrParams:]
	nrd := &targets.ArgSet{Args: rest}
	nrDevs, err := nrd.ReadArg(1, uint64(max(len(rest)-1, 0)/2), "Cannot understand number of raid devices parameters")
	if err != nil {
		return nil, err
	}
	if nrDevs < 1 || nrDevs > maxRaidDevices {
		return nil, targets.Invalid("Invalid number of supplied raid devices")
	}
	if int(nrDevs) <= rt.parityDevs {
		return nil, targets.Invalid("Insufficient number of devices")
	}
	r := &Raid{ctx: ctx, rt: rt, layout: rt.algorithm, stripeCache: 256, rebuilding: ctx.Restored}
	defer func() { r.rebuilding = false }()
	r.cond = newCond(&r.mu)
	r.recoveryCp = maxSector
	for range nrDevs {
		r.members = append(r.members, &member{inSync: true, recoveryOffset: maxSector})
	}
	if err := r.parseParams(as, nrParams); err != nil {
		return nil, err
	}
	if err := r.parseDevs(as); err != nil {
		return nil, err
	}
	if err := r.build(); err != nil {
		return nil, err
	}
	return r, nil
}

// parseParams is parse_raid_params: the chunk size first (ignored for
// raid1, with a warning when not 0), then the optional parameters.
func (r *Raid) parseParams(as *targets.ArgSet, nrParams int) error {
	arg, _ := as.Shift()
	value, ok := kstrtoint(arg)
	if !ok {
		return targets.Invalid("Bad numerical argument given for chunk_size")
	}
	switch {
	case r.rt.level == 1:
		if value != 0 {
			r.logf("Ignoring chunk size parameter for RAID 1")
		}
		value = 0
	case value <= 0 || !targets.PowerOfTwo(uint64(value)):
		return targets.Invalid("Chunk size must be a power of 2")
	case value < 8:
		return targets.Invalid("Chunk size value is too small")
	}
	r.chunkSectors = uint64(value)
	raid10Fmt, raid10Copies, writeMostly := algRaid10Default, 2, 0
	var regionSize uint64
	once := func(f ctrFlags, msg string) error {
		if r.flags&f != 0 {
			return targets.Invalid(msg)
		}
		r.flags |= f
		return nil
	}
	for i := 1; i < nrParams; i++ {
		key, ok := as.Shift()
		if !ok {
			return targets.Invalid("Not enough raid parameters given")
		}
		switch targets.LowerASCII(key) {
		case "nosync":
			if err := once(flagNosync, "Only one 'nosync' argument allowed"); err != nil {
				return err
			}
			continue
		case "sync":
			if err := once(flagSync, "Only one 'sync' argument allowed"); err != nil {
				return err
			}
			continue
		case "raid10_use_near_sets":
			if err := once(flagRaid10UseNearSets, "Only one 'raid10_use_new_sets' argument allowed"); err != nil {
				return err
			}
			continue
		}
		arg, ok := as.Shift()
		i++
		if !ok {
			return targets.Invalid("Wrong number of raid parameters given")
		}
		switch targets.LowerASCII(key) {
		case "raid10_format":
			if err := once(flagRaid10Format, "Only one 'raid10_format' argument pair allowed"); err != nil {
				return err
			}
			if r.rt.level != 10 {
				return targets.Invalid("'raid10_format' is an invalid parameter for this RAID type")
			}
			switch targets.LowerASCII(arg) {
			case "near":
				raid10Fmt = algRaid10Near
			case "offset":
				raid10Fmt = algRaid10Offset
			case "far":
				raid10Fmt = algRaid10Far
			default:
				return targets.Invalid("Invalid 'raid10_format' value given")
			}
			continue
		case "journal_dev":
			if err := once(flagJournalDev, "Only one raid4/5/6 set journaling device allowed"); err != nil {
				return err
			}
			if r.rt.level < 4 || r.rt.level > 6 {
				return targets.Invalid("'journal_dev' is an invalid parameter for this RAID type")
			}
			dev, err := r.ctx.Open(arg)
			if err != nil {
				return targets.Errorf(targets.OpenErrno(err), "raid4/5/6 journal device lookup failure")
			}
			r.journal = dev
			if uint64(dev.SizeBytes()/targets.SectorSize) < minJournalSectors {
				return targets.Errorf(syscall.ENOSPC, "No space for raid4/5/6 journal")
			}
			continue
		case "journal_mode":
			if r.flags&flagJournalDev == 0 {
				return targets.Invalid("raid4/5/6 'journal_mode' is invalid without 'journal_dev'")
			}
			if err := once(flagJournalMode, "Only one raid4/5/6 'journal_mode' argument allowed"); err != nil {
				return err
			}
			switch targets.LowerASCII(arg) {
			case "writethrough":
				r.journalWriteBack = false
			case "writeback":
				r.journalWriteBack = true
			default:
				return targets.Invalid("Invalid 'journal_mode' argument")
			}
			continue
		}
		value, ok := kstrtoint(arg)
		if !ok {
			return targets.Invalid("Bad numerical argument given in raid params")
		}
		switch targets.LowerASCII(key) {
		case "rebuild":
			if value < 0 || value > len(r.members)-1 {
				return targets.Invalid("Invalid rebuild index given")
			}
			m := r.members[value]
			if m.rebuild {
				return targets.Invalid("rebuild for this index already given")
			}
			m.rebuild, m.inSync, m.faulty, m.recoveryOffset = true, false, false, 0
			r.flags |= flagRebuild
		case "write_mostly":
			if r.rt.level != 1 {
				return targets.Invalid("write_mostly option is only valid for RAID1")
			}
			if value < 0 || value > len(r.members)-1 {
				return targets.Invalid("Invalid write_mostly index given")
			}
			writeMostly++
			r.members[value].writeMostly = true
			r.flags |= flagWriteMostly
		case "max_write_behind":
			if r.rt.level != 1 {
				return targets.Invalid("max_write_behind option is only valid for RAID1")
			}
			if err := once(flagMaxWriteBehind, "Only one max_write_behind argument pair allowed"); err != nil {
				return err
			}
			if value < 0 || value/2 > counterMax {
				return targets.Invalid("Max write-behind limit out of range")
			}
			r.maxWriteBehindKB = value / 2
		case "daemon_sleep":
			if err := once(flagDaemonSleep, "Only one daemon_sleep argument pair allowed"); err != nil {
				return err
			}
			if value < 0 {
				return targets.Invalid("daemon sleep period out of range")
			}
			r.daemonSleepMs = value
		case "data_offset":
			if err := once(flagDataOffset, "Only one data_offset argument pair allowed"); err != nil {
				return err
			}
			if value < 0 || value != 0 && (value < minFreeReshapeSectors || value%8 != 0) {
				return targets.Invalid("Bogus data_offset value")
			}
			r.dataOffset = value
		case "delta_disks":
			if err := once(flagDeltaDisks, "Only one delta_disks argument pair allowed"); err != nil {
				return err
			}
			if abs(value) < 1 || abs(value) > maxRaidDevices-r.rt.minimalDevs {
				return targets.Invalid("Too many delta_disk requested")
			}
			r.deltaDisks = value
		case "stripe_cache":
			if err := once(flagStripeCache, "Only one stripe_cache argument pair allowed"); err != nil {
				return err
			}
			if r.rt.level < 4 || r.rt.level > 6 {
				return targets.Invalid("Inappropriate argument: stripe_cache")
			}
			if value < 0 {
				return targets.Invalid("Bogus stripe cache entries value")
			}
			r.stripeCache = value
		case "min_recovery_rate":
			if err := once(flagMinRecoveryRate, "Only one min_recovery_rate argument pair allowed"); err != nil {
				return err
			}
			if value < 0 {
				return targets.Invalid("min_recovery_rate out of range")
			}
			r.minRecoveryRate = value
		case "max_recovery_rate":
			if err := once(flagMaxRecoveryRate, "Only one max_recovery_rate argument pair allowed"); err != nil {
				return err
			}
			if value < 0 {
				return targets.Invalid("max_recovery_rate out of range")
			}
			r.maxRecoveryRate = value
		case "region_size":
			if err := once(flagRegionSize, "Only one region_size argument pair allowed"); err != nil {
				return err
			}
			regionSize = uint64(uint32(value))
			r.regionRequested = regionSize
		case "raid10_copies":
			if err := once(flagRaid10Copies, "Only one raid10_copies argument pair allowed"); err != nil {
				return err
			}
			if value < 2 || value > len(r.members) {
				return targets.Invalid("Bad value for 'raid10_copies'")
			}
			raid10Copies = value
		default:
			r.logf("Unable to parse RAID parameter: %s", key)
			return targets.Invalid("Unable to parse RAID parameter")
		}
	}
	if r.flags&flagSync != 0 && r.flags&flagNosync != 0 {
		return targets.Invalid("sync and nosync are mutually exclusive")
	}
	if r.flags&flagRebuild != 0 && r.flags&(flagSync|flagNosync) != 0 {
		return targets.Invalid("sync/nosync and rebuild are mutually exclusive")
	}
	if writeMostly >= len(r.members) {
		return targets.Invalid("Can't set all raid1 devices to write_mostly")
	}
	if r.maxRecoveryRate != 0 && r.minRecoveryRate > r.maxRecoveryRate {
		return targets.Invalid("Bogus recovery rates")
	}
	if err := r.validateRegionSize(regionSize); err != nil {
		return err
	}
	if r.rt.level == 10 {
		r.layout = raid10Layout(raid10Fmt, raid10Copies, r.flags&flagRaid10UseNearSets != 0)
		rt := raidTypeByLevelLayout(10, r.layout)
		if rt == nil {
			return targets.Invalid("Failed to recognize new raid10 layout")
		}
		if (rt.algorithm == algRaid10Default || rt.algorithm == algRaid10Near) && r.flags&flagRaid10UseNearSets != 0 {
			return targets.Invalid("RAID10 format 'near' and 'raid10_use_near_sets' are incompatible")
		}
	}
	r.raid10Copies = raid10Copies
	if r.flags&^r.rt.validFlags() != 0 {
		return targets.Invalid("Invalid flags combination")
	}
	return nil
}

// counterMax is md-bitmap's COUNTER_MAX: the most writes behind.
const counterMax = 1<<14 - 1

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// raid10Layout is raid10_format_to_md_layout.
func raid10Layout(format, copies int, nearSets bool) int {
	n, f, extra := 1, 1, 0
	switch format {
	case algRaid10Default, algRaid10Near:
		n = copies
	case algRaid10Offset:
		f, extra = copies, raid10OffsetBit
		if !nearSets {
			extra |= raid10UseFarSets
		}
	case algRaid10Far:
		f = copies
		if !nearSets {
			extra |= raid10UseFarSets
		}
	}
	return extra | f<<raid10FarCopiesShift | n
}

// validateRegionSize is validate_region_size: a region (the bitmap's
// chunk) of at most the target's length, at least 1/2^21 of it, a power
// of 2 not below the chunk size; 4 MiB or the least allowed when not
// given (raid0 has none).
func (r *Raid) validateRegionSize(regionSize uint64) error {
	minRegion := r.ctx.Len / (1 << 21)
	if r.rt.level == 0 {
		return nil
	}
	if regionSize == 0 {
		if minRegion > 1<<13 {
			regionSize = roundupPow2(minRegion)
			r.logf("Choosing default region size of %d sectors", regionSize)
		} else {
			r.logf("Choosing default region size of 4MiB")
			regionSize = 1 << 13
		}
	} else {
		if regionSize > r.ctx.Len {
			return targets.Invalid("Supplied region size is too large")
		}
		if regionSize < minRegion {
			r.logf("Supplied region_size (%d sectors) below minimum (%d)", regionSize, minRegion)
			return targets.Invalid("Supplied region size is too small")
		}
		if !targets.PowerOfTwo(regionSize) {
			return targets.Invalid("Region size is not a power of 2")
		}
		if regionSize < r.chunkSectors {
			return targets.Invalid("Region size is smaller than the chunk size")
		}
	}
	r.regionSectors = regionSize
	return nil
}

// parseDevs is parse_dev_params: the device count (read before), then per
// member its metadata device or '-' and its data device or '-'; a member
// to rebuild must have a data device, and a metadata device one too.
func (r *Raid) parseDevs(as *targets.ArgSet) error {
	as.Shift()
	for _, m := range r.members {
		arg, _ := as.Shift()
		if arg != "-" {
			dev, err := r.ctx.Open(arg)
			if err != nil {
				return targets.Errorf(targets.OpenErrno(err), "RAID metadata device lookup failure")
			}
			m.meta = dev
		}
		arg, _ = as.Shift()
		if arg == "-" {
			if !m.inSync && m.recoveryOffset == 0 {
				return targets.Invalid("Drive designated for rebuild not specified")
			}
			if m.meta != nil {
				return targets.Invalid("No data device supplied with metadata device")
			}
			continue
		}
		dev, err := r.ctx.Open(arg)
		if err != nil {
			return targets.Errorf(targets.OpenErrno(err), "RAID device lookup failure")
		}
		m.data, m.raw = dev, dev
	}
	return nil
}

// setSizes is rs_set_dev_and_array_sectors for the table's length: the
// sectors each member holds and the array's, which every member must hold.
func (r *Raid) setSizes(lenSectors uint64) error {
	r.dataStripes = len(r.members) - r.rt.parityDevs
	dev, array := lenSectors, lenSectors
	switch r.rt.level {
	case 1:
	case 10:
		if r.raid10Copies < 2 || r.deltaDisks < 0 {
			return targets.Invalid("Bogus raid10 data copies or delta disks")
		}
		dev *= uint64(r.raid10Copies)
		if dev%uint64(r.dataStripes) != 0 {
			return errNotDivisible
		}
		dev /= uint64(r.dataStripes)
		array = uint64(r.dataStripes+r.deltaDisks) * dev
		if array%uint64(r.raid10Copies) != 0 {
			return errNotDivisible
		}
		array /= uint64(r.raid10Copies)
	default:
		if dev%uint64(r.dataStripes) != 0 {
			return errNotDivisible
		}
		dev /= uint64(r.dataStripes)
		array = uint64(r.dataStripes+r.deltaDisks) * dev
	}
	r.devSectors, r.arraySectors = dev, array
	for _, m := range r.members {
		if m.data != nil && uint64(m.data.SizeBytes()/targets.SectorSize) < dev {
			return targets.Invalid("Component device(s) too small")
		}
	}
	return nil
}

var errNotDivisible = targets.Invalid("Target length not divisible by number of data devices")

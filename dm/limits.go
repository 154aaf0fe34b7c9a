package dm

import "github.com/gdmsetup/gdmsetup/targets"

// limits are the queue limits gdmsetup models of a device or a target
// (struct queue_limits): the optimal I/O size (io_opt) and the logical
// block size, and what blk_stack_limits checks their alignment by (the
// physical block size, io_min, the alignment offset), in bytes.
type limits struct {
	optimalIOBytes       int64
	logicalBlockBytes    int64
	physicalBlockBytes   int64
	ioMinBytes           int64
	alignmentOffsetBytes int64
}

// stack is blk_stack_limits of o for data starting startSector into it:
// io_opt by lcm, the block sizes and io_min by max. It reports false when
// the result is misaligned (the kernel's -1, which dm logs as an alignment
// inconsistency), after the kernel's corrections.
func (l *limits) stack(o limits, startSector uint64) bool {
	ok := true
	// queue_limit_alignment_offset(o, startSector)
	granule := max(o.physicalBlockBytes, o.ioMinBytes)
	startBytes := int64(startSector%uint64(granule/targets.SectorSize)) * targets.SectorSize
	alignment := (granule + o.alignmentOffsetBytes - startBytes) % granule
	if l.alignmentOffsetBytes != alignment {
		top := max(l.physicalBlockBytes, l.ioMinBytes) + l.alignmentOffsetBytes
		bottom := granule + alignment
		ok = max(top, bottom)%min(top, bottom) == 0
	}
	l.logicalBlockBytes = max(l.logicalBlockBytes, o.logicalBlockBytes)
	l.physicalBlockBytes = max(l.physicalBlockBytes, o.physicalBlockBytes)
	l.ioMinBytes = max(l.ioMinBytes, o.ioMinBytes)
	l.optimalIOBytes = targets.LCMNotZero(l.optimalIOBytes, o.optimalIOBytes)
	if l.physicalBlockBytes%l.logicalBlockBytes != 0 {
		l.physicalBlockBytes, ok = l.logicalBlockBytes, false
	}
	if l.ioMinBytes%l.physicalBlockBytes != 0 {
		l.ioMinBytes, ok = l.physicalBlockBytes, false
	}
	if l.optimalIOBytes%l.physicalBlockBytes != 0 {
		l.optimalIOBytes, ok = 0, false
	}
	l.alignmentOffsetBytes = targets.LCMNotZero(l.alignmentOffsetBytes, alignment) % max(l.physicalBlockBytes, l.ioMinBytes)
	if l.alignmentOffsetBytes%l.logicalBlockBytes != 0 {
		ok = false
	}
	return ok
}

// noLimits is blk_set_stacking_limits: no io_opt, 512-byte blocks.
func noLimits() limits {
	return limits{logicalBlockBytes: targets.SectorSize, physicalBlockBytes: targets.SectorSize, ioMinBytes: targets.SectorSize}
}

// devLimits is a device's limits: a mapped device's live table's (none
// without one), a file's or block device's 512-byte blocks and no io_opt;
// another Dev's io_opt and logical block size (its physical one and io_min
// too) as it says.
func devLimits(dev targets.Dev) limits {
	if m, ok := dev.(*mapped); ok {
		if t := m.d.current(); t != nil {
			return t.limits()
		}
		return noLimits()
	}
	l := noLimits()
	if d, ok := dev.(targets.OptimalIODev); ok {
		l.optimalIOBytes = d.OptimalIOBytes()
	}
	if d, ok := dev.(targets.LogicalBlockSizer); ok {
		l.raiseBlock(d.LogicalBlockBytes())
	}
	return l
}

// raiseBlock raises the block sizes and io_min to at least bytes, as the
// io_hints of crypt, verity and writecache do.
func (l *limits) raiseBlock(bytes int64) {
	l.logicalBlockBytes = max(l.logicalBlockBytes, bytes)
	l.physicalBlockBytes = max(l.physicalBlockBytes, bytes)
	l.ioMinBytes = max(l.ioMinBytes, bytes)
}

// devicesLimits stacks the limits of the devices tg's Areas name, each
// at its start (iterate_devices with dm_set_device_limits). misaligned,
// when not nil, is told of each device whose stacking is misaligned.
func devicesLimits(tg targets.Target, misaligned func(a targets.Area, dev limits)) limits {
	l := noLimits()
	if it, ok := tg.(targets.AreaIterator); ok {
		for _, a := range it.Areas() {
			dl := devLimits(a.Dev)
			if !l.stack(dl, a.StartSector) && misaligned != nil {
				misaligned(a, dl)
			}
		}
	}
	return l
}

// targetLimits is devicesLimits after tg's io_hints.
func targetLimits(tg targets.Target) limits { return ioHints(tg, devicesLimits(tg, nil)) }

// ioHints applies tg's io_hints (targets.IOHinter,
// targets.LogicalBlockSizer, targets.BlockEmulator) to l, the limits its
// devices stack to.
func ioHints(tg targets.Target, l limits) limits {
	if h, ok := tg.(targets.IOHinter); ok {
		l.optimalIOBytes = h.IOHints(l.optimalIOBytes)
	}
	if s, ok := tg.(targets.LogicalBlockSizer); ok {
		l.raiseBlock(s.LogicalBlockBytes())
	}
	if e, ok := tg.(targets.BlockEmulator); ok {
		eb, ub := e.EmulatedBlockBytes(), e.UnderlyingBlockBytes()
		l.logicalBlockBytes, l.physicalBlockBytes, l.alignmentOffsetBytes = eb, ub, ub
		l.ioMinBytes = max(eb, ub) // blk_limits_io_min
	}
	return l
}

// limits is dm_calculate_queue_limits: the table stacks its targets'.
func (t *Table) limits() limits {
	l := noLimits()
	for _, e := range t.entries {
		l.stack(targetLimits(e.target), 0)
	}
	return l
}

// optimalIOBytes is the table's io_opt.
func (t *Table) optimalIOBytes() int64 { return t.limits().optimalIOBytes }

// readAheadSectors is max(2 × io_opt, 128 KiB) in whole pages, as the block
// layer sets a disk's read-ahead from its limits.
func (t *Table) readAheadSectors() uint64 {
	const pageBytes, defaultPages = 4096, 32
	pages := uint64(t.optimalIOBytes()) * 2 / pageBytes
	return max(pages, defaultPages) * pageBytes / targets.SectorSize
}

// checkLimits is what dm_calculate_queue_limits checks of a table, with
// the kernel's log line on the first failure: each range a target uses
// lies inside its device and is aligned to the target's logical block size
// (device_area_is_invalid), and the table's target boundaries are aligned
// to its logical block size (validate_hardware_logical_block_alignment).
// A range starting inside a device's block is warned of first, as the
// stacking of the device's limits does, and a target whose limits do not
// stack with those of the targets before it is warned of last.
func (r *Registry) checkLimits(d *Device, t *Table) bool {
	table := noLimits()
	for i := range t.entries {
		e := &t.entries[i]
		if !r.checkAreas(d, e) {
			return false
		}
		if !table.stack(targetLimits(e.target), 0) {
			r.klogf("table: %s: adding target device (start sect %d len %d) caused an alignment inconsistency",
				d.devName(), e.start, e.len)
		}
	}
	return r.checkBlockAlignment(d, t)
}

// checkAreas is the part of checkLimits for one target's device ranges:
// dm_set_device_limits' warnings, then device_area_is_invalid.
func (r *Registry) checkAreas(d *Device, e *entry) bool {
	it, ok := e.target.(targets.AreaIterator)
	if !ok {
		return true
	}
	lbSectors := uint64(ioHints(e.target, devicesLimits(e.target, r.misalignedDevice(d))).logicalBlockBytes) / targets.SectorSize
	for _, a := range it.Areas() {
		devSectors := uint64(a.Dev.SizeBytes()) / targets.SectorSize
		if devSectors == 0 {
			continue
		}
		disk := targets.DiskName(a.Dev)
		switch {
		case a.StartSector >= devSectors || a.StartSector+a.LenSectors > devSectors:
			r.klogf("table: %s: %s too small for target: start=%d, len=%d, dev_size=%d",
				d.devName(), disk, a.StartSector, a.LenSectors, devSectors)
			return false
		case lbSectors > 1 && a.StartSector%lbSectors != 0:
			r.klogf("table: %s: start=%d not aligned to h/w logical block size %d of %s",
				d.devName(), a.StartSector, lbSectors*targets.SectorSize, disk)
			return false
		case lbSectors > 1 && a.LenSectors%lbSectors != 0:
			r.klogf("table: %s: len=%d not aligned to h/w logical block size %d of %s",
				d.devName(), a.LenSectors, lbSectors*targets.SectorSize, disk)
			return false
		}
	}
	return true
}

// misalignedDevice is dm_set_device_limits' warning for d's table: a
// device whose limits do not stack at the start of the range a target
// uses (a start inside its physical block).
func (r *Registry) misalignedDevice(d *Device) func(a targets.Area, dev limits) {
	return func(a targets.Area, dev limits) {
		r.klogf("table: %s: adding target device %s caused an alignment inconsistency: physical_block_size=%d, logical_block_size=%d, alignment_offset=%d, start=%d",
			d.devName(), targets.DiskName(a.Dev), dev.physicalBlockBytes, dev.logicalBlockBytes, dev.alignmentOffsetBytes, a.StartSector*targets.SectorSize)
	}
}

// checkBlockAlignment is validate_hardware_logical_block_alignment: an
// I/O aligned to the table's logical block size that crosses from one
// target into the next must leave the next a part aligned to that
// target's devices' logical block size.
func (r *Registry) checkBlockAlignment(d *Device, t *Table) bool {
	lbSectors := uint64(t.limits().logicalBlockBytes) / targets.SectorSize
	var nextStart, remaining uint64
	i := 0
	for ; i < len(t.entries); i++ {
		e := t.entries[i]
		eSectors := uint64(devicesLimits(e.target, r.misalignedDevice(d)).logicalBlockBytes) / targets.SectorSize
		if remaining < e.len && remaining%eSectors != 0 {
			break
		}
		nextStart = (nextStart + e.len) % lbSectors
		remaining = 0
		if nextStart != 0 {
			remaining = lbSectors - nextStart
		}
	}
	if remaining == 0 {
		return true
	}
	e := t.entries[min(i, len(t.entries)-1)]
	r.klogf("table: %s: table line %d (start sect %d len %d) not aligned to h/w logical block size %d",
		d.devName(), i, e.start, e.len, lbSectors*targets.SectorSize)
	return false
}

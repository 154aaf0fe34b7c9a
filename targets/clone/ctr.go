package clone

import (
	"errors"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Region size bounds in sectors (MIN_REGION_SIZE, MAX_REGION_SIZE).
const (
	minRegionSectors = 8
	maxRegionSectors = 2097152
	maxRegions       = 1 << 31
)

// New is clone's constructor (clone_ctr):
// <metadata dev> <destination dev> <source dev> <region size>
// [<#feature args> [<feature arg>]* [<#core args> [<core arg>]*]].
func New(ctx *targets.Context, args []string) (targets.Target, error) {
	if len(args) < 4 {
		return nil, targets.Invalid("Invalid number of arguments")
	}
	c := &Clone{ctx: ctx, lenSectors: ctx.Len, tableArgs: append([]string(nil), args[3:]...),
		initial: settings{Threshold: 1, Batch: 1}, fresh: ctx.Inactive}
	var err error
	if c.meta, err = ctx.Open(args[0]); err != nil {
		return nil, targets.Errorf(targets.OpenErrno(err), "Error opening metadata device")
	}
	if c.dest, err = ctx.Open(args[1]); err != nil {
		return nil, targets.Errorf(targets.OpenErrno(err), "Error opening destination device")
	}
	if uint64(c.dest.SizeBytes())/targets.SectorSize < ctx.Len {
		return nil, targets.Invalid("Device size larger than destination device")
	}
	if c.src, err = ctx.Open(args[2]); err != nil {
		return nil, targets.Errorf(targets.OpenErrno(err), "Error opening source device")
	}
	if uint64(c.src.SizeBytes())/targets.SectorSize < ctx.Len {
		return nil, targets.Invalid("Device size larger than source device")
	}
	as := &targets.ArgSet{Args: args[3:]}
	if err := c.parseRegionSize(as); err != nil {
		return nil, err
	}
	if err := c.parseFeatures(as); err != nil {
		return nil, err
	}
	if err := c.parseCore(as); err != nil {
		return nil, err
	}
	if err := c.load(); err != nil {
		return nil, err
	}
	if !c.noDiscardPassdown && !targets.DevSupportsDiscards(c.dest) {
		// disable_passdown_if_not_supported, logged when the table is
		// loaded (io_hints), not when another process rebuilds it.
		if !ctx.Restored {
			ctx.Logf("clone: Destination device (%s) discard unsupported: Disabling discard passdown.", targets.DiskName(c.dest))
		}
		c.noDiscardPassdown = true
	}
	return c, nil
}

func (c *Clone) parseRegionSize(as *targets.ArgSet) error {
	n, err := as.ReadArg(minRegionSectors, maxRegionSectors, "Invalid region size")
	if err != nil {
		return err
	}
	if n&(n-1) != 0 {
		return targets.Invalid("Region size is not a power of 2")
	}
	c.regionSectors = n
	for n > 1 {
		n >>= 1
		c.regionShift++
	}
	c.nrRegions = (c.lenSectors + c.regionSectors - 1) / c.regionSectors
	if c.nrRegions > maxRegions {
		return targets.Invalid("Too many regions. Consider increasing the region size")
	}
	return nil
}

// parseFeatures reads no_hydration and no_discard_passdown (at most 2).
func (c *Clone) parseFeatures(as *targets.ArgSet) error {
	if as.Len() == 0 {
		return nil
	}
	n, err := as.ReadArgGroup(0, 2, "Invalid number of feature arguments")
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		s, _ := as.Shift()
		switch targets.LowerASCII(s) {
		case "no_hydration":
			c.initial.Disabled = true
		case "no_discard_passdown":
			c.noDiscardPassdown = true
		default:
			return targets.Invalid("Invalid feature argument")
		}
	}
	return nil
}

// parseCore reads hydration_threshold and hydration_batch_size pairs (at
// most 4 words).
func (c *Clone) parseCore(as *targets.ArgSet) error {
	if as.Len() == 0 {
		return nil
	}
	n, err := as.ReadArgGroup(0, 4, "Invalid number of core arguments")
	if err != nil {
		return err
	}
	if n%2 != 0 {
		return targets.Invalid("Number of core arguments must be even")
	}
	for i := 0; i < n; i += 2 {
		key, _ := as.Shift()
		val, _ := as.Shift()
		var dst *uint32
		switch targets.LowerASCII(key) {
		case "hydration_threshold":
			dst = &c.initial.Threshold
		case "hydration_batch_size":
			dst = &c.initial.Batch
		default:
			return targets.Invalid("Invalid core argument")
		}
		v, ok := targets.ParseUint(val, 32)
		if !ok {
			return targets.Invalid("Invalid value for argument `" + targets.LowerASCII(key) + "'")
		}
		*dst = uint32(v)
	}
	return nil
}

// load opens (or formats) the metadata and sets up the in-core state.
func (c *Clone) load() error {
	md, bitmap, err := openMetadata(c.meta, c.lenSectors, c.regionSectors)
	if err != nil {
		if errors.Is(err, errMismatch) {
			c.ctx.Logf("clone metadata: %v", err)
		} else {
			c.ctx.Logf("clone metadata: Failed to open metadata: %v", err)
		}
		return targets.Errorf(syscall.EINVAL, "Failed to load metadata")
	}
	c.init(md, bitmap)
	return nil
}

// Package dust is the dust target, the kernel's emulator of a disk with
// bad blocks: `<dev> <offset> <blksz>` maps like linear; blocks of blksz
// bytes listed by message (addbadblock) fail reads with EIO once failures
// are enabled, and a write to one clears it, or fails while its write
// failure count lasts (drivers/md/dm-dust.c, v1.0.0 of Linux 6.1).
package dust

import (
	"fmt"
	"math/bits"
	"sync"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Type is the dust target's registration.
var Type = targets.Type{Name: "dust", Version: [3]int{1, 0, 0}, New: New}

// maxBlockSectors is DUST_MAX_BLKSZ_SECTORS: 1 GiB.
const maxBlockSectors = 2097152

// Dust maps onto one device and keeps its bad block list in memory, as
// the kernel does; the list goes with the table's saved state from one
// process to the next (SaveState). The device, offset and block size are
// fixed at construction; mu guards the list, enabled and quiet.
type Dust struct {
	dev          targets.Dev
	offsetSector uint64
	lenSectors   uint64
	// beginSector is the line's start in the table: an empty flush is
	// mapped from the table's sector 0 (see Flush).
	beginSector uint64
	blockBytes  uint32
	// blockShift is log2 of the block size in sectors.
	blockShift uint

	mu sync.Mutex
	// bad maps each bad block (of the device, counted from its sector 0)
	// to its write failure count.
	bad map[uint64]uint8
	// enabled is fail_read_on_bb: bad blocks fail reads and count writes.
	enabled bool
	// quiet is quiet_mode: the list's log lines are not written.
	quiet bool
	logf  func(format string, args ...any)
}

// New is dust_ctr: the kernel's checks in the kernel's order, the device
// opened last; a saved state comes back for a table rebuilt by a later
// process.
func New(ctx *targets.Context, args []string) (targets.Target, error) {
	if len(args) != 3 {
		return nil, targets.Invalid("Invalid argument count")
	}
	blockBytes, ok := targets.ParseUint(args[2], 32) // kstrtouint
	if !ok || blockBytes == 0 {
		return nil, targets.Invalid("Invalid block size parameter")
	}
	if blockBytes < targets.SectorSize {
		return nil, targets.Invalid("Block size must be at least 512")
	}
	if blockBytes&(blockBytes-1) != 0 {
		return nil, targets.Invalid("Block size must be a power of 2")
	}
	if blockBytes/targets.SectorSize > min(ctx.Len, maxBlockSectors) {
		return nil, targets.Invalid("Block size is too large")
	}
	off, ok := targets.ScanUint(args[1], 64)
	if !ok {
		return nil, targets.Invalid("Invalid device offset sector")
	}
	dev, err := ctx.Open(args[0])
	if err != nil {
		// dust_ctr answers EINVAL whatever dm_get_device's error
		return nil, targets.Errorf(syscall.EINVAL, "Device lookup failed")
	}
	d := &Dust{
		dev: dev, offsetSector: off, lenSectors: ctx.Len, beginSector: ctx.Begin,
		blockBytes: uint32(blockBytes), blockShift: uint(bits.TrailingZeros64(blockBytes / targets.SectorSize)),
		bad: map[uint64]uint8{}, logf: ctx.Logf,
	}
	if ctx.Restored && ctx.Saved != "" {
		if err := d.restore(ctx.Saved); err != nil {
			return nil, targets.Invalid(fmt.Sprintf("saved state of %s: %v", ctx.DevName, err))
		}
	}
	return d, nil
}

// blockSectors is the block size in sectors.
func (d *Dust) blockSectors() uint64 { return 1 << d.blockShift }

// Status is dust_status's STATUSTYPE_INFO: "<dev> <fail_read_on_bad_block
// or bypass> <quiet or verbose>".
func (d *Dust) Status() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	mode, verbosity := "bypass", "verbose"
	if d.enabled {
		mode = "fail_read_on_bad_block"
	}
	if d.quiet {
		verbosity = "quiet"
	}
	return fmt.Sprintf("%s %s %s", d.dev.Name(), mode, verbosity)
}

// Table is "<dev> <offset> <blksz>".
func (d *Dust) Table() string {
	return fmt.Sprintf("%s %d %d", d.dev.Name(), d.offsetSector, d.blockBytes)
}

// Areas is the one range of the device it uses, as linear's.
func (d *Dust) Areas() []targets.Area {
	return []targets.Area{{Dev: d.dev, StartSector: d.offsetSector, LenSectors: d.lenSectors}}
}

// Package ebs is the ebs target, the kernel's emulated block size:
// `<dev> <offset> <emulated sectors> [<underlying sectors>]` maps like
// linear and exposes a logical block size of the emulated size (512 bytes
// to 4 KiB), smaller or larger than the device's; I/O that covers blocks
// of the underlying size in part is done by reading, patching and writing
// them whole (drivers/md/dm-ebs-target.c, v1.0.1 of Linux 6.1).
package ebs

import (
	"fmt"
	"sync"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Type is the ebs target's registration.
var Type = targets.Type{Name: "ebs", Version: [3]int{1, 0, 1}, New: New}

// pageBytes is PAGE_SIZE, the largest emulated block.
const pageBytes = 4096

// Ebs maps onto one device. Everything but rmw is fixed at construction.
type Ebs struct {
	dev          targets.Dev
	offsetSector uint64
	lenSectors   uint64
	// emulatedSectors (e_bs) is the logical block size it exposes,
	// underlyingSectors (u_bs) the block size it does I/O to the device
	// in; both powers of two.
	emulatedSectors, underlyingSectors uint64
	// underlyingSet says the table gave the underlying size (it prints it).
	underlyingSet bool
	// rmw serialises the I/O that goes through partial underlying blocks,
	// as the kernel's one ordered worker does: two writes into one block
	// never patch it at once.
	rmw sync.Mutex
}

// New is ebs_ctr: the kernel's checks in the kernel's order; without an
// underlying size, the device's logical block size is taken.
func New(ctx *targets.Context, args []string) (targets.Target, error) {
	if len(args) < 3 || len(args) > 4 {
		return nil, targets.Invalid("Invalid argument count")
	}
	off, ok := targets.ScanUint(args[1], 64)
	if !ok {
		return nil, targets.Invalid("Invalid device offset sector")
	}
	e := &Ebs{offsetSector: off, lenSectors: ctx.Len}
	// sscanf("%hu"): 16 bits, wrapping
	e.emulatedSectors, ok = targets.ScanUint(args[2], 16)
	if !ok || !targets.PowerOfTwo(e.emulatedSectors) || e.emulatedSectors*targets.SectorSize > pageBytes {
		return nil, targets.Invalid("Invalid emulated block size")
	}
	if len(args) > 3 {
		e.underlyingSectors, ok = targets.ScanUint(args[3], 16)
		if !ok || !targets.PowerOfTwo(e.underlyingSectors) {
			return nil, targets.Invalid("Invalid underlying block size")
		}
		e.underlyingSet = true
	}
	dev, err := ctx.Open(args[0])
	if err != nil {
		return nil, targets.Errorf(targets.OpenErrno(err), "Device lookup failed")
	}
	e.dev = dev
	if !e.underlyingSet {
		e.underlyingSectors = 1
		if s, ok := dev.(targets.LogicalBlockSizer); ok {
			e.underlyingSectors = uint64(s.LogicalBlockBytes()) / targets.SectorSize
		}
		// logged by the constructor of the table, not when a later
		// process rebuilds it
		if e.emulatedSectors == e.underlyingSectors && !ctx.Restored {
			ctx.Logf("ebs: Emulation superfluous: emulated equal to underlying block size")
		}
	}
	if e.offsetSector%e.underlyingSectors != 0 {
		return nil, targets.Invalid("Device offset must be multiple of underlying block size")
	}
	return e, nil
}

// EmulatedBlockBytes is targets.BlockEmulator: the logical block size.
func (e *Ebs) EmulatedBlockBytes() int64 { return int64(e.emulatedSectors) * targets.SectorSize }

// UnderlyingBlockBytes is targets.BlockEmulator: the physical block size.
func (e *Ebs) UnderlyingBlockBytes() int64 { return int64(e.underlyingSectors) * targets.SectorSize }

// Status is empty (STATUSTYPE_INFO).
func (e *Ebs) Status() string { return "" }

// Table is "<dev> <offset> <emulated>", with " <underlying>" when the
// table gave it.
func (e *Ebs) Table() string {
	if e.underlyingSet {
		return fmt.Sprintf("%s %d %d %d", e.dev.Name(), e.offsetSector, e.emulatedSectors, e.underlyingSectors)
	}
	return fmt.Sprintf("%s %d %d", e.dev.Name(), e.offsetSector, e.emulatedSectors)
}

// Areas is the one range of the device it uses, as linear's.
func (e *Ebs) Areas() []targets.Area {
	return []targets.Area{{Dev: e.dev, StartSector: e.offsetSector, LenSectors: e.lenSectors}}
}

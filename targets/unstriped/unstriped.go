// Package unstriped is the unstriped target:
// `<#stripes> <chunk_sectors> <stripe#> <dev> <offset>` presents one stripe
// of a device striped in chunks over #stripes members (a RAID 0 array seen
// whole) as a device of its own (drivers/md/dm-unstripe.c, v1.1.0 of Linux 6.1).
package unstriped

import (
	"fmt"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Type is the unstriped target's registration.
var Type = targets.Type{Name: "unstriped", Version: [3]int{1, 1, 0}, New: New}

// Unstriped maps onto one device; it holds no mutable state.
type Unstriped struct {
	dev          targets.Dev
	startSector  uint64 // physical_start
	stripes      uint32
	chunkSectors uint32
	stripe       uint32 // which stripe, counted from 0
	lenSectors   uint64
}

// New is unstriped's constructor, with the kernel's checks in its order:
// the numbers by kstrtouint ('+' accepted, no overflow), the stripe number
// checked only against a count above 1 and allowed to equal it (the
// kernel's test), the device opened before its offset is read (sscanf),
// every failure EINVAL.
func New(ctx *targets.Context, args []string) (targets.Target, error) {
	if len(args) != 5 {
		return nil, targets.Invalid("Invalid number of arguments")
	}
	stripes, ok := targets.ParseUint(args[0], 32)
	if !ok || stripes == 0 {
		return nil, targets.Invalid("Invalid stripe count")
	}
	chunk, ok := targets.ParseUint(args[1], 32)
	if !ok || chunk == 0 {
		return nil, targets.Invalid("Invalid chunk_size")
	}
	stripe, ok := targets.ParseUint(args[2], 32)
	if !ok {
		return nil, targets.Invalid("Invalid stripe number")
	}
	if stripe > stripes && stripes > 1 {
		return nil, targets.Invalid("Please provide stripe between [0, # of stripes]")
	}
	dev, err := ctx.Open(args[3])
	if err != nil {
		return nil, targets.Invalid("Couldn't get striped device")
	}
	start, ok := targets.ScanUint(args[4], 64)
	if !ok {
		return nil, targets.Invalid("Invalid striped device offset")
	}
	if ctx.Len%chunk != 0 {
		return nil, targets.Invalid("Target length not divisible by chunk size")
	}
	return &Unstriped{dev: dev, startSector: start, stripes: uint32(stripes), chunkSectors: uint32(chunk),
		stripe: uint32(stripe), lenSectors: ctx.Len}, nil
}

// devOffset maps lenSectors from the target's sector (inside one chunk)
// to a byte offset on the device (map_to_core): each chunk row skips the
// other stripes' chunks. The arithmetic wraps at 64 bits as the kernel's
// sector_t; a range past the device's end is an I/O error, as the block
// layer fails such a bio.
func (u *Unstriped) devOffset(sector, lenSectors uint64) (int64, error) {
	chunk := uint64(u.chunkSectors)
	row := sector / chunk
	devSector := u.startSector + sector + uint64(u.stripes-1)*chunk*row + uint64(u.stripe)*chunk
	devSectors := uint64(u.dev.SizeBytes()) / targets.SectorSize
	if devSector > devSectors || lenSectors > devSectors-devSector {
		return 0, fmt.Errorf("unstriped: %d sectors at sector %d of %s: beyond the end of the device (%d sectors): %w",
			lenSectors, devSector, u.dev.Name(), devSectors, syscall.EIO)
	}
	return int64(devSector) * targets.SectorSize, nil
}

// ReadAt reads one piece, which the core keeps inside a chunk.
func (u *Unstriped) ReadAt(p []byte, sector uint64) error {
	off, err := u.devOffset(sector, uint64(len(p))/targets.SectorSize)
	if err != nil {
		return err
	}
	_, err = u.dev.ReadAt(p, off)
	return err
}

// WriteAt writes one piece, which the core keeps inside a chunk.
func (u *Unstriped) WriteAt(p []byte, sector uint64) error { return u.write(p, sector, false) }

// WriteFUA is targets.FUAWriter: unstripe_map remaps the bio with its
// flags, a FUA write to the device. It comes only in a table with a target
// that takes flushes: the core clears REQ_FUA otherwise (NoFlushBios).
func (u *Unstriped) WriteFUA(p []byte, sector uint64) error { return u.write(p, sector, true) }

// write is WriteAt, or WriteFUA with fua.
func (u *Unstriped) write(p []byte, sector uint64, fua bool) error {
	off, err := u.devOffset(sector, uint64(len(p))/targets.SectorSize)
	if err != nil {
		return err
	}
	return targets.DevWrite(u.dev, p, off, fua)
}

// SupportsDiscards is false: the kernel's target takes no discard bios, so
// a device with it refuses discards.
func (u *Unstriped) SupportsDiscards() bool { return false }

// Discard is refused (the core does not send one, see SupportsDiscards).
func (u *Unstriped) Discard(sector, lenSectors uint64) error {
	return fmt.Errorf("unstriped: discard of %d sectors at %d: %w", lenSectors, sector, syscall.EOPNOTSUPP)
}

// Flush does nothing: the kernel's target takes no flush bios, so a flush
// of the device does not reach the underlying one.
func (u *Unstriped) Flush() error { return nil }

// NoFlushBios is targets.NoFlushBios: unstripe_ctr sets no num_flush_bios.
func (u *Unstriped) NoFlushBios() {}

// Status is empty, as the kernel's.
func (u *Unstriped) Status() string { return "" }

// Table is "<#stripes> <chunk> <stripe#> <dev> <offset>", the stripe count
// and number printed signed as the kernel's "%d" does (4294967295 is -1).
func (u *Unstriped) Table() string {
	return fmt.Sprintf("%d %d %d %s %d", int32(u.stripes), u.chunkSectors, int32(u.stripe), u.dev.Name(), u.startSector)
}

// MaxIOSectors is the chunk size (dm_set_target_max_io_len): no I/O crosses a chunk.
func (u *Unstriped) MaxIOSectors() uint64 { return uint64(u.chunkSectors) }

// Areas is the range the kernel checks: the target's length from the
// offset, though the stripe's chunks lie beyond it (the other stripes'
// chunks sit between them).
func (u *Unstriped) Areas() []targets.Area {
	return []targets.Area{{Dev: u.dev, StartSector: u.startSector, LenSectors: u.lenSectors}}
}

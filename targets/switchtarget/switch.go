// Package switchtarget is the switch target (drivers/md/dm-switch.c,
// v1.1.0 of Linux 6.1): `<num_paths> <region_size> <num_optional_args>
// (<dev> <offset>)...` cuts the device in regions of region_size sectors
// and sends each region's I/O to one of the paths, chosen by a region table
// that starts round robin and is set by `set_region_mappings` messages.
// Every path is mapped whole: sector S of the target is sector offset+S of
// whichever path its region names. (The package is not named switch: a Go
// keyword.)
package switchtarget

import (
	"fmt"
	"strings"
	"sync"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Type is the switch target's registration.
var Type = targets.Type{Name: "switch", Version: [3]int{1, 1, 0}, New: New}

// maxPaths is the most paths a table may name: as many switch_path entries
// (16 bytes) as fit after the 40-byte struct switch_ctx in the largest
// kmalloc (4 MiB on x86_64: MAX_ORDER 11, 4 KiB pages).
const maxPaths = (1<<22 - 40) / 16

// messageMu is the kernel's message_mutex: one for every switch target, it
// serialises messages and guards every table's region entries changes.
var messageMu sync.Mutex

// path is a device a region may map to and the sector where the target's
// sector 0 lies on it.
type path struct {
	dev         targets.Dev
	startSector uint64
}

// Switch maps each region to a path. The paths and sizes are fixed at
// construction; the region table says how it is protected.
type Switch struct {
	paths         []path
	regionSectors uint32
	lenSectors    uint64
	regions       *regionTable
	logf          func(format string, args ...any)
}

// New is switch_ctr, with the kernel's checks in its order: the path count
// (dm_read_arg: 1 to maxPaths), the region size (1 to 2^32-1, any value,
// not only powers of two), the optional argument group (its count must be
// 0), then exactly two words per path; each path's device is opened before
// its offset (kstrtoull: '+' accepted) is read; then the region table is
// allocated and filled round robin. Every failure is EINVAL but a failed
// device lookup (its own errno) and a table too large for memory (ENOMEM).
// A table rebuilt in a later process (Restored) takes back the region table
// its last process saved.
func New(ctx *targets.Context, args []string) (targets.Target, error) {
	as := targets.ArgSet{Args: args}
	nrPaths, err := as.ReadArg(1, maxPaths, "Invalid number of paths")
	if err != nil {
		return nil, err
	}
	regionSectors, err := as.ReadArg(1, 1<<32-1, "Invalid region size")
	if err != nil {
		return nil, err
	}
	if _, err := as.ReadArgGroup(0, 0, "Invalid number of optional args"); err != nil {
		return nil, err
	}
	if uint64(as.Len()) != 2*nrPaths {
		return nil, targets.Invalid("Incorrect number of path arguments")
	}
	s := &Switch{regionSectors: uint32(regionSectors), lenSectors: ctx.Len, logf: ctx.Logf}
	for as.Len() > 0 {
		devArg, _ := as.Shift()
		offArg, _ := as.Shift()
		dev, err := ctx.Open(devArg)
		if err != nil {
			return nil, targets.Errorf(targets.OpenErrno(err), "Device lookup failed")
		}
		start, ok := targets.ParseUint(offArg, 64)
		if !ok {
			return nil, targets.Invalid("Invalid device starting offset")
		}
		s.paths = append(s.paths, path{dev: dev, startSector: start})
	}
	if s.regions, err = newRegionTable(ctx.Len, s.regionSectors, uint32(nrPaths)); err != nil {
		return nil, err
	}
	if ctx.Restored && ctx.Saved != "" {
		if err := s.regions.restore(ctx.Saved, uint32(nrPaths)); err != nil {
			return nil, targets.Invalid(fmt.Sprintf("saved state of %s: %v", ctx.DevName, err))
		}
	}
	return s, nil
}

// locate is switch_get_path_nr and switch_map: the path of sector's region
// and the byte offset of sector on it.
func (s *Switch) locate(sector uint64) (path, int64) {
	p := s.paths[s.regions.get(sector/uint64(s.regionSectors))]
	return p, int64(p.startSector+sector) * targets.SectorSize
}

// ReadAt reads one piece, which the core keeps inside a region.
func (s *Switch) ReadAt(p []byte, sector uint64) error {
	dst, off := s.locate(sector)
	if _, err := dst.dev.ReadAt(p, off); err != nil {
		return fmt.Errorf("switch: read of region %d on %s: %w", sector/uint64(s.regionSectors), dst.dev.Name(), err)
	}
	return nil
}

// WriteAt writes one piece, which the core keeps inside a region.
func (s *Switch) WriteAt(p []byte, sector uint64) error { return s.write(p, sector, false) }

// WriteFUA is targets.FUAWriter: switch_map remaps the bio with its flags,
// a FUA write to the region's path. It comes only in a table with a target
// that takes flushes: the core clears REQ_FUA otherwise (NoFlushBios).
func (s *Switch) WriteFUA(p []byte, sector uint64) error { return s.write(p, sector, true) }

// write is WriteAt, or WriteFUA with fua.
func (s *Switch) write(p []byte, sector uint64, fua bool) error {
	dst, off := s.locate(sector)
	if err := targets.DevWrite(dst.dev, p, off, fua); err != nil {
		return fmt.Errorf("switch: write of region %d on %s: %w", sector/uint64(s.regionSectors), dst.dev.Name(), err)
	}
	return nil
}

// Discard sends the whole range to the path of its first sector's region
// (num_discard_bios 1): in 6.1 the core splits discards only at target
// boundaries, not at max_io_len, so a discard across regions lands on one
// path, over the other regions' sectors there too.
func (s *Switch) Discard(sector, lenSectors uint64) error {
	dst, off := s.locate(sector)
	return dst.dev.Discard(off, int64(lenSectors)*targets.SectorSize)
}

// Flush does nothing: the kernel's target takes no flush bios
// (num_flush_bios 0), so its device offers no write cache and a flush of
// it reaches no path.
func (s *Switch) Flush() error { return nil }

// NoFlushBios is targets.NoFlushBios: switch_ctr sets no num_flush_bios.
func (s *Switch) NoFlushBios() {}

// Status is empty, as the kernel's STATUSTYPE_INFO.
func (s *Switch) Status() string { return "" }

// Table is "<num_paths> <region_size> 0" and " <dev> <offset>" per path.
func (s *Switch) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %d 0", len(s.paths), s.regionSectors)
	for _, p := range s.paths {
		fmt.Fprintf(&b, " %s %d", p.dev.Name(), p.startSector)
	}
	return b.String()
}

// MaxIOSectors is the region size (dm_set_target_max_io_len): no read or
// write crosses a region, counted from the target's start.
func (s *Switch) MaxIOSectors() uint64 { return uint64(s.regionSectors) }

// Areas is switch_iterate_devices: each path from its offset for the
// target's whole length.
func (s *Switch) Areas() []targets.Area {
	out := make([]targets.Area, len(s.paths))
	for i, p := range s.paths {
		out[i] = targets.Area{Dev: p.dev, StartSector: p.startSector, LenSectors: s.lenSectors}
	}
	return out
}

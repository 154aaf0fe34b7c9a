package switchtarget

import (
	"sync/atomic"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
	"golang.org/x/sys/unix"
)

// slotBits is the width of one region table slot: the kernel's slots are
// unsigned longs, 64 bits on the oracle's x86_64.
const slotBits = 64

// pageBytes is the page size vmalloc counts the table in.
const pageBytes = 4096

// regionTable is dm-switch's region table: for each region the number of
// the path it maps to, entryBits wide, packed entriesPerSlot to a 64-bit
// slot from the low bits up, as the kernel packs them (alloc_region_table).
//
// Concurrency: I/O reads entries with atomic loads and no lock (the
// kernel's READ_ONCE); entries are changed only under messageMu (the
// kernel's static message_mutex, one for every switch target), each by an
// atomic store of its whole slot, so a reader sees a slot before or after a
// change, never half of one. changed is guarded by messageMu too.
type regionTable struct {
	slots          []atomic.Uint64
	nrRegions      uint64
	entryBits      uint
	entriesPerSlot uint64
	// changed is set once a message wrote an entry: the table is no longer
	// the constructor's round robin and must be saved.
	changed bool
}

// newRegionTable is alloc_region_table and initialise_region_table: a table
// for lenSectors cut in regions of regionSectors (the last one may be
// short), entries wide enough for nrPaths path numbers, filled round robin
// (region r on path r mod nrPaths). A table larger than the machine's
// memory fails as vmalloc fails it ("Cannot allocate region table",
// ENOMEM). The kernel's "Region table too large" needs a length the core
// refuses first (over 2^54 sectors), so it has no check here.
func newRegionTable(lenSectors uint64, regionSectors uint32, nrPaths uint32) (*regionTable, error) {
	entryBits := uint(1)
	for entryBits < slotBits && uint64(1)<<entryBits < uint64(nrPaths) {
		entryBits++
	}
	rt := &regionTable{entryBits: entryBits, entriesPerSlot: slotBits / uint64(entryBits)}
	rt.nrRegions = (lenSectors + uint64(regionSectors) - 1) / uint64(regionSectors)
	nrSlots := (rt.nrRegions + rt.entriesPerSlot - 1) / rt.entriesPerSlot
	if (nrSlots*8+pageBytes-1)/pageBytes > totalRAMPages() {
		return nil, targets.Errorf(syscall.ENOMEM, "Cannot allocate region table")
	}
	rt.slots = make([]atomic.Uint64, nrSlots)
	rt.fillRoundRobin(nrPaths)
	return rt, nil
}

// totalRAMPages is the machine's memory in pages (totalram_pages, which
// vmalloc refuses to exceed); unlimited when it cannot be read.
func totalRAMPages() uint64 {
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) != nil {
		return ^uint64(0)
	}
	return uint64(si.Totalram) * uint64(si.Unit) / pageBytes
}

// fillRoundRobin sets region r to path r mod nrPaths. The slots repeat
// every nrPaths/gcd(nrPaths, entriesPerSlot) slots: that many are built
// entry by entry and copied over the rest. Entries past the last region
// are filled too; they are never read.
func (rt *regionTable) fillRoundRobin(nrPaths uint32) {
	period := uint64(nrPaths) / gcd(uint64(nrPaths), rt.entriesPerSlot)
	for i := range rt.slots {
		if uint64(i) >= period {
			rt.slots[i].Store(rt.slots[uint64(i)-period].Load())
			continue
		}
		var v uint64
		for k := uint64(0); k < rt.entriesPerSlot; k++ {
			region := uint64(i)*rt.entriesPerSlot + k
			v |= (region % uint64(nrPaths)) << (k * uint64(rt.entryBits))
		}
		rt.slots[i].Store(v)
	}
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// position is switch_get_position: the slot of region and the entry's
// lowest bit in it.
func (rt *regionTable) position(region uint64) (slot uint64, bit uint) {
	return region / rt.entriesPerSlot, uint(region%rt.entriesPerSlot) * rt.entryBits
}

func (rt *regionTable) mask() uint64 { return uint64(1)<<rt.entryBits - 1 }

// get is switch_region_table_read: the path number of region (< nrRegions).
func (rt *regionTable) get(region uint64) uint32 {
	slot, bit := rt.position(region)
	return uint32(rt.slots[slot].Load() >> bit & rt.mask())
}

// set is switch_region_table_write: region (< nrRegions) now maps to path.
// The caller holds messageMu.
func (rt *regionTable) set(region uint64, path uint32) {
	slot, bit := rt.position(region)
	v := rt.slots[slot].Load()
	v = v&^(rt.mask()<<bit) | uint64(path)<<bit
	rt.slots[slot].Store(v)
	rt.changed = true
}

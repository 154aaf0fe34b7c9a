// Package cache is the dm-cache target (drivers/md/dm-cache-target.c,
// v2.3.0) with its smq, mq (an alias of smq), cleaner and default
// policies (dm-cache-policy-smq.c): an origin device fronted by a faster
// cache device in blocks of a fixed size; the policy decides which origin
// blocks live on the cache device and moves them there and back in the
// background. Its metadata (versions 1 and 2: a mapping array, a hint
// array, a discard bitset and, for version 2, a dirty bitset) is the
// kernel's, read by cache_check, cache_dump, cache_restore and
// cache_repair.
package cache

import (
	"sync"
	"time"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Type is the cache target's registration.
var Type = targets.Type{Name: "cache", Version: [3]int{2, 3, 0}, New: New, Destroys: true}

// ioMode is enum cache_io_mode.
type ioMode int

const (
	ioWriteback ioMode = iota
	ioWritethrough
	ioPassthrough
)

// metaMode is enum cache_metadata_mode.
type metaMode int

const (
	modeWrite metaMode = iota
	modeReadOnly
	modeFail
)

// features is struct cache_features.
type features struct {
	io              ioMode
	metadataVersion uint32
	discardPassdown bool
}

// counters are the kernel's struct cache_stats counters that status prints.
type counters struct {
	ReadHit, ReadMiss, WriteHit, WriteMiss uint32
	Demotion, Promotion, Writeback         uint32
}

// Cache is one cache table line.
//
// Concurrency: mu serialises every use of md, pol, the bitsets, the
// counters and the lifecycle flags (the kernel's spinlocks, the policy's
// lock and the single-threaded worker). ioMu orders data transfers done
// outside mu against migrations: I/O holds it shared from its lookup until
// its transfer ends, migrations hold it exclusively (the bio prison's
// cell locks). Lock order: ioMu before mu.
type Cache struct {
	ctx                *targets.Context
	meta, cdev, origin targets.Dev
	blockSectors       uint64
	originSectors      uint64
	originBlocks       uint64
	feat               features
	kind               policyKind
	ctrArgs            []string // the constructor's words from the block size on
	discardSectors     uint64
	discardNrBlocks    uint64
	ioMu               sync.RWMutex
	mu                 sync.Mutex
	md                 *metadata
	pol                *smq
	st                 state
	inFlight           int // accounted I/O between map and end_io (the I/O tracker)
	now                func() time.Time
}

// state is the kernel's in-core state of a cache table that its metadata
// does not hold (or not yet); it is kept across processes (SaveState).
type state struct {
	CacheSize          uint64 // cache blocks
	MigrationThreshold uint64 // sectors
	Mode               metaMode
	Dirty              []uint64 // one bit per cache block
	NrDirty            uint64
	Discarded          []uint64 // one bit per discard block
	Invalid            []uint64 // one bit per cache block (mappings past the origin's end)
	Counters           counters
	Sized              bool
	LoadedMappings     bool
	LoadedDiscards     bool
	NeedTickBio        bool
	BackgroundAllowed  bool
	Suspended          bool // the device is suspended (dm_suspended)
	CleanWhenOpened    bool
	LastIOEndNs        int64 // when the last accounted I/O ended (the I/O tracker)
	LastWakerNs        int64 // when do_waker last ran
	MetaAllocCursor    uint64
	Policy             *smq
}

func testBit(bits []uint64, i uint64) bool { return bits[i/64]&(1<<(i%64)) != 0 }
func setBit(bits []uint64, i uint64)       { bits[i/64] |= 1 << (i % 64) }
func clearBit(bits []uint64, i uint64)     { bits[i/64] &^= 1 << (i % 64) }
func newBits(n uint64) []uint64            { return make([]uint64, (n+63)/64) }

func (c *Cache) logf(format string, args ...any) { c.ctx.Logf("cache: "+format, args...) }

// devName is cache_device_name: the mapped device's "253:N".
func (c *Cache) devName() string { return c.ctx.DevName }

// oblock is get_bio_block: the origin block of the target's sector.
func (c *Cache) oblock(sector uint64) uint64 { return sector / c.blockSectors }

// dblock is oblock_to_dblock.
func (c *Cache) dblock(oblock uint64) uint64 {
	return oblock / (c.discardSectors / c.blockSectors)
}

func (c *Cache) writeback() bool    { return c.feat.io == ioWriteback }
func (c *Cache) writethrough() bool { return c.feat.io == ioWritethrough }
func (c *Cache) passthrough() bool  { return c.feat.io == ioPassthrough }

// MaxIOSectors is the block size: no I/O crosses a cache block.
func (c *Cache) MaxIOSectors() uint64 { return c.blockSectors }

// Areas are the cache device and the origin (cache_iterate_devices).
func (c *Cache) Areas() []targets.Area {
	return []targets.Area{
		{Dev: c.cdev, LenSectors: uint64(c.cdev.SizeBytes()) / targets.SectorSize},
		{Dev: c.origin, LenSectors: c.ctx.Len},
	}
}

// IOHints is cache_io_hints' io_opt: the stacked one when the block size
// divides it, else the block size.
func (c *Cache) IOHints(stackedBytes int64) int64 {
	return targets.KeepFactorOfBlock(stackedBytes, int64(c.blockSectors)*targets.SectorSize)
}

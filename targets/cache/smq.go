package cache

import (
	"strings"
	"syscall"
	"time"

	"github.com/gdmsetup/gdmsetup/targets"
)

// hintSize is every policy's hint size in bytes (a cache entry's level).
const hintSize = 4

// policyID is a policy's name and version as the metadata records them.
type policyID struct {
	name    string
	version [3]uint32
}

// The policy's constants (dm-cache-policy-smq.c).
const (
	nrHotspotLevels = 64
	nrCacheLevels   = 64

	writebackPeriod     = 10 * time.Second
	demotePeriod        = 60 * time.Second
	hotspotUpdatePeriod = time.Second
	cacheUpdatePeriod   = 60 * time.Second

	cleanTargetPercent = 25
	freeTargetPercent  = 25

	btrackerMaxWork = 4096
)

// policyKind is which of the registered policies a table names.
type policyKind struct {
	name    string // as the table and status print it
	migrate bool   // migrations allowed
	cleaner bool   // writes back every dirty block, promotes nothing
}

// policyKinds are the policy types dm-cache-smq registers; "default" is smq.
var policyKinds = map[string]policyKind{
	"smq":     {name: "smq", migrate: true},
	"mq":      {name: "mq", migrate: true},
	"cleaner": {name: "cleaner", cleaner: true},
	"default": {name: "smq", migrate: true},
}

// smq is struct smq_policy: the stochastic multiqueue policy (and, with
// Cleaner set, the cleaner). Times are Unix nanoseconds (the kernel's
// jiffies). Every field is exported for SaveState; the hash tables are
// maps (their order decides nothing).
//
// Concurrency: not safe for concurrent use; Cache calls it with Cache.mu held.
type smq struct {
	Kind                       string
	CacheSize                  uint32
	CacheBlockSectors          uint64
	HotspotBlockSectors        uint64
	NrHotspotBlocks            uint32
	CacheBlocksPerHotspotBlock uint32
	HotspotLevelJump           uint32
	ES                         entrySpace
	WritebackSentinels         entryAlloc
	DemoteSentinels            entryAlloc
	HotspotAlloc               entryAlloc
	CacheAlloc                 entryAlloc
	HotspotHitBits             []uint64
	CacheHitBits               []uint64
	Hotspot, Clean, Dirty      queue
	HotspotStats, CacheStats   hitStats
	Tick                       uint32
	Table                      map[uint64]uint32
	HotspotTable               map[uint64]uint32
	CurrentWritebackSentinels  bool
	NextWritebackPeriod        int64
	CurrentDemoteSentinels     bool
	NextDemotePeriod           int64
	WritePromoteLevel          uint32
	ReadPromoteLevel           uint32
	NextHotspotPeriod          int64
	NextCachePeriod            int64
	BG                         btracker
	MigrationsAllowed          bool
	Cleaner                    bool
}

func testAndSet(bits []uint64, i uint32) bool {
	was := bits[i/64]&(1<<(i%64)) != 0
	bits[i/64] |= 1 << (i % 64)
	return was
}

// newSMQ is __smq_create for a cache of cacheSize blocks of
// cacheBlockSectors over an origin of originSectors, at time now.
func newSMQ(kind policyKind, cacheSize uint32, originSectors, cacheBlockSectors uint64, now int64) *smq {
	mq := &smq{Kind: kind.name, CacheSize: cacheSize, CacheBlockSectors: cacheBlockSectors}
	mq.HotspotBlockSectors = cacheBlockSectors * 16
	mq.NrHotspotBlocks = max(cacheSize/4, 1024)
	for mq.HotspotBlockSectors > cacheBlockSectors && mq.HotspotBlockSectors*uint64(mq.NrHotspotBlocks) > originSectors {
		mq.HotspotBlockSectors /= 2
	}
	mq.CacheBlocksPerHotspotBlock = uint32(mq.HotspotBlockSectors / cacheBlockSectors)
	mq.HotspotLevelJump = 1
	perQueue := uint32(2 * nrCacheLevels)
	total := 2 * perQueue
	mq.ES.E = make([]entry, total+mq.NrHotspotBlocks+cacheSize)
	es := &mq.ES
	mq.WritebackSentinels = es.initAllocator(0, perQueue)
	mq.DemoteSentinels = es.initAllocator(perQueue, total)
	for i := uint32(0); i < total; i++ {
		es.E[i].Sentinel = true
	}
	mq.HotspotAlloc = es.initAllocator(total, total+mq.NrHotspotBlocks)
	mq.CacheAlloc = es.initAllocator(total+mq.NrHotspotBlocks, total+mq.NrHotspotBlocks+cacheSize)
	mq.HotspotHitBits = make([]uint64, (mq.NrHotspotBlocks+63)/64)
	mq.CacheHitBits = make([]uint64, (cacheSize+63)/64)
	mq.Hotspot = newQueue(nrHotspotLevels)
	mq.Hotspot.NrTopLevels = 8
	mq.Hotspot.NrInTopLevels = min(mq.NrHotspotBlocks/nrHotspotLevels, cacheSize/mq.CacheBlocksPerHotspotBlock)
	mq.Clean = newQueue(nrCacheLevels)
	mq.Dirty = newQueue(nrCacheLevels)
	mq.HotspotStats = newHitStats(nrHotspotLevels)
	mq.CacheStats = newHitStats(nrCacheLevels)
	mq.Table, mq.HotspotTable = map[uint64]uint32{}, map[uint64]uint32{}
	mq.sentinelsInit(now)
	mq.WritePromoteLevel, mq.ReadPromoteLevel = nrHotspotLevels, nrHotspotLevels
	mq.NextHotspotPeriod, mq.NextCachePeriod = now, now
	mq.BG = newBtracker(btrackerMaxWork)
	mq.MigrationsAllowed = kind.migrate
	mq.Cleaner = kind.cleaner
	return mq
}

// id is the name and version written with the hints (the real policy's
// name: "default" records smq).
func (mq *smq) id() policyID { return policyID{name: mq.Kind, version: [3]uint32{2, 0, 0}} }

func (mq *smq) sentinel(ea *entryAlloc, level uint32, which bool) uint32 {
	if which {
		return ea.Begin + level
	}
	return ea.Begin + nrCacheLevels + level
}

func (mq *smq) writebackSentinel(level uint32) uint32 {
	return mq.sentinel(&mq.WritebackSentinels, level, mq.CurrentWritebackSentinels)
}

func (mq *smq) demoteSentinel(level uint32) uint32 {
	return mq.sentinel(&mq.DemoteSentinels, level, mq.CurrentDemoteSentinels)
}

func (mq *smq) updateSentinels(now int64) {
	if now > mq.NextWritebackPeriod {
		mq.NextWritebackPeriod = now + int64(writebackPeriod)
		mq.CurrentWritebackSentinels = !mq.CurrentWritebackSentinels
		for level := uint32(0); level < mq.Dirty.NrLevels; level++ {
			s := mq.writebackSentinel(level)
			mq.ES.qDel(&mq.Dirty, s)
			mq.ES.qPush(&mq.Dirty, s)
		}
	}
	if now > mq.NextDemotePeriod {
		mq.NextDemotePeriod = now + int64(demotePeriod)
		mq.CurrentDemoteSentinels = !mq.CurrentDemoteSentinels
		for level := uint32(0); level < mq.Clean.NrLevels; level++ {
			s := mq.demoteSentinel(level)
			mq.ES.qDel(&mq.Clean, s)
			mq.ES.qPush(&mq.Clean, s)
		}
	}
}

func (mq *smq) sentinelsInitOnce() {
	for level := uint32(0); level < nrCacheLevels; level++ {
		s := mq.writebackSentinel(level)
		mq.ES.E[s].Level = uint8(level)
		mq.ES.qPush(&mq.Dirty, s)
		s = mq.demoteSentinel(level)
		mq.ES.E[s].Level = uint8(level)
		mq.ES.qPush(&mq.Clean, s)
	}
}

func (mq *smq) sentinelsInit(now int64) {
	mq.NextWritebackPeriod = now + int64(writebackPeriod)
	mq.NextDemotePeriod = now + int64(demotePeriod)
	mq.CurrentWritebackSentinels, mq.CurrentDemoteSentinels = false, false
	mq.sentinelsInitOnce()
	mq.CurrentWritebackSentinels, mq.CurrentDemoteSentinels = true, true
	mq.sentinelsInitOnce()
}

func (mq *smq) queueOf(i uint32) *queue {
	if mq.ES.E[i].Dirty {
		return &mq.Dirty
	}
	return &mq.Clean
}

func (mq *smq) push(i uint32) {
	mq.Table[mq.ES.E[i].Oblock] = i
	mq.ES.E[i].InHash = true
	if !mq.ES.E[i].PendingWork {
		mq.ES.qPush(mq.queueOf(i), i)
	}
}

func (mq *smq) pushFront(i uint32) {
	mq.Table[mq.ES.E[i].Oblock] = i
	mq.ES.E[i].InHash = true
	if !mq.ES.E[i].PendingWork {
		mq.ES.qPushFront(mq.queueOf(i), i)
	}
}

func (mq *smq) hRemove(i uint32) {
	delete(mq.Table, mq.ES.E[i].Oblock)
	mq.ES.E[i].InHash = false
}

func (mq *smq) cblockOf(i uint32) uint64 { return uint64(i - mq.CacheAlloc.Begin) }

func (mq *smq) cacheEntry(cblock uint64) uint32 { return mq.CacheAlloc.Begin + uint32(cblock) }

func (mq *smq) requeue(i uint32) {
	e := &mq.ES.E[i]
	if e.PendingWork {
		return
	}
	if testAndSet(mq.CacheHitBits, uint32(mq.cblockOf(i))) {
		return
	}
	if !e.Dirty {
		mq.ES.qRequeue(&mq.Clean, i, 1, indexerNull, indexerNull)
		return
	}
	lvl := uint32(e.Level)
	mq.ES.qRequeue(&mq.Dirty, i, 1,
		mq.sentinel(&mq.WritebackSentinels, lvl, !mq.CurrentWritebackSentinels),
		mq.sentinel(&mq.WritebackSentinels, lvl, mq.CurrentWritebackSentinels))
}

func (mq *smq) defaultPromoteLevel() uint32 {
	table := [...]uint32{1, 1, 1, 2, 4, 6, 7, 8, 7, 6, 4, 4, 3, 3, 2, 2, 1}
	hits, misses := mq.CacheStats.Hits, mq.CacheStats.Misses
	return table[safeDiv(hits<<4, hits+misses)]
}

func (mq *smq) updatePromoteLevels() {
	threshold := uint32(nrHotspotLevels / 2)
	if mq.CacheAlloc.Free.empty() {
		threshold = mq.defaultPromoteLevel()
	}
	threshold = max(threshold, nrHotspotLevels)
	switch mq.HotspotStats.assess() {
	case qPoor:
		threshold /= 4
	case qFair:
		threshold /= 2
	}
	mq.ReadPromoteLevel = nrHotspotLevels - threshold
	mq.WritePromoteLevel = nrHotspotLevels - threshold
}

func (mq *smq) updateLevelJump() {
	switch mq.HotspotStats.assess() {
	case qPoor:
		mq.HotspotLevelJump = 4
	case qFair:
		mq.HotspotLevelJump = 2
	default:
		mq.HotspotLevelJump = 1
	}
}

func (mq *smq) endHotspotPeriod(now int64) {
	clear(mq.HotspotHitBits)
	mq.updatePromoteLevels()
	if now > mq.NextHotspotPeriod {
		mq.updateLevelJump()
		mq.ES.qRedistribute(&mq.Hotspot)
		mq.HotspotStats.reset()
		mq.NextHotspotPeriod = now + int64(hotspotUpdatePeriod)
	}
}

func (mq *smq) endCachePeriod(now int64) {
	if now > mq.NextCachePeriod {
		clear(mq.CacheHitBits)
		mq.ES.qRedistribute(&mq.Dirty)
		mq.ES.qRedistribute(&mq.Clean)
		mq.CacheStats.reset()
		mq.NextCachePeriod = now + int64(cacheUpdatePeriod)
	}
}

func (mq *smq) cleanTargetMet(idle bool) bool {
	if idle || mq.Cleaner {
		return mq.Dirty.NrElts == 0
	}
	return true
}

func (mq *smq) freeTargetMet() bool {
	nrFree := mq.CacheSize - mq.CacheAlloc.NrAllocated
	return nrFree+mq.BG.nrDemotionsQueued() >= mq.CacheSize*freeTargetPercent/100
}

func (mq *smq) queueWriteback(idle bool) {
	i := mq.ES.qPeek(&mq.Dirty, mq.Dirty.NrLevels, idle)
	if i == indexerNull {
		return
	}
	mq.ES.E[i].PendingWork = true
	mq.ES.qDel(&mq.Dirty, i)
	w := work{Op: opWriteback, Oblock: mq.ES.E[i].Oblock, Cblock: mq.cblockOf(i)}
	if !mq.BG.queue(w, false) {
		mq.ES.E[i].PendingWork = false
		mq.ES.qPushFront(&mq.Dirty, i)
	}
}

func (mq *smq) queueDemotion() {
	if !mq.MigrationsAllowed {
		return
	}
	i := mq.ES.qPeek(&mq.Clean, mq.Clean.NrLevels/2, true)
	if i == indexerNull {
		if !mq.cleanTargetMet(true) {
			mq.queueWriteback(false)
		}
		return
	}
	mq.ES.E[i].PendingWork = true
	mq.ES.qDel(&mq.Clean, i)
	w := work{Op: opDemote, Oblock: mq.ES.E[i].Oblock, Cblock: mq.cblockOf(i)}
	if !mq.BG.queue(w, false) {
		mq.ES.E[i].PendingWork = false
		mq.ES.qPushFront(&mq.Clean, i)
	}
}

// queuePromotion reserves a cache block for oblock and queues (or, with
// issued, hands out) its promotion; with no free block it may queue a
// demotion instead.
func (mq *smq) queuePromotion(oblock uint64, issued bool) (work, bool) {
	if !mq.MigrationsAllowed {
		return work{}, false
	}
	if mq.CacheAlloc.Free.empty() {
		if !mq.freeTargetMet() {
			mq.queueDemotion()
		}
		return work{}, false
	}
	if mq.BG.promotionPresent(oblock) {
		return work{}, false
	}
	i := mq.ES.allocEntry(&mq.CacheAlloc)
	mq.ES.E[i].PendingWork = true
	w := work{Op: opPromote, Oblock: oblock, Cblock: mq.cblockOf(i)}
	if !mq.BG.queue(w, issued) {
		mq.ES.freeEntry(&mq.CacheAlloc, i)
		return work{}, false
	}
	return w, issued
}

type promoteResult int

const (
	promoteNot promoteResult = iota
	promoteTemporary
	promotePermanent
)

func (mq *smq) shouldPromote(hs uint32, write, fastPromote bool) promoteResult {
	level := uint32(0)
	if hs != indexerNull {
		level = uint32(mq.ES.E[hs].Level)
	}
	maybe := func(b bool) promoteResult {
		if b {
			return promotePermanent
		}
		return promoteNot
	}
	if write {
		if !mq.CacheAlloc.Free.empty() && fastPromote {
			return promoteTemporary
		}
		return maybe(level >= mq.WritePromoteLevel)
	}
	return maybe(level >= mq.ReadPromoteLevel)
}

func (mq *smq) updateHotspotQueue(b uint64) uint32 {
	hb := b / uint64(mq.CacheBlocksPerHotspotBlock)
	if i, ok := mq.HotspotTable[hb]; ok {
		mq.HotspotStats.levelAccessed(mq.ES.E[i].Level)
		jump := mq.HotspotLevelJump
		if testAndSet(mq.HotspotHitBits, i-mq.HotspotAlloc.Begin) {
			jump = 0
		}
		mq.ES.qRequeue(&mq.Hotspot, i, jump, indexerNull, indexerNull)
		return i
	}
	mq.HotspotStats.miss()
	i := mq.ES.allocEntry(&mq.HotspotAlloc)
	if i == indexerNull {
		i = mq.ES.qPop(&mq.Hotspot)
		if i != indexerNull {
			delete(mq.HotspotTable, mq.ES.E[i].Oblock)
			hi := i - mq.HotspotAlloc.Begin
			mq.HotspotHitBits[hi/64] &^= 1 << (hi % 64)
		}
	}
	if i != indexerNull {
		mq.ES.E[i].Oblock = hb
		mq.ES.qPush(&mq.Hotspot, i)
		mq.HotspotTable[hb] = i
	}
	return i
}

// lookupResult is what a lookup found and started.
type lookupResult struct {
	hit      bool
	cblock   uint64
	work     work // a promotion handed out to the caller (withWork)
	hasWork  bool
	bgQueued bool // background work was queued
}

// lookup is smq_lookup (withWork false) and smq_lookup_with_work: a hit
// requeues the entry; a miss updates the hotspot queue and may queue a
// promotion (handed out with withWork).
func (mq *smq) lookup(oblock uint64, write, fastCopy, withWork bool) lookupResult {
	if i, ok := mq.Table[oblock]; ok {
		mq.CacheStats.levelAccessed(mq.ES.E[i].Level)
		mq.requeue(i)
		return lookupResult{hit: true, cblock: mq.cblockOf(i)}
	}
	mq.CacheStats.miss()
	hs := mq.updateHotspotQueue(oblock)
	var r lookupResult
	if mq.shouldPromote(hs, write, fastCopy) != promoteNot {
		r.work, r.hasWork = mq.queuePromotion(oblock, withWork)
		r.bgQueued = true
	}
	return r
}

// backgroundWork is smq_get_background_work: queued work first, else a
// writeback when the cache is to be cleaned.
func (mq *smq) backgroundWork(idle bool) (work, bool) {
	if w, ok := mq.BG.issue(); ok {
		return w, true
	}
	if !mq.cleanTargetMet(idle) {
		mq.queueWriteback(idle)
		return mq.BG.issue()
	}
	return work{}, false
}

// completeBackgroundWork is __complete_background_work.
func (mq *smq) completeBackgroundWork(w work, success bool) {
	i := mq.cacheEntry(w.Cblock)
	e := &mq.ES.E[i]
	switch w.Op {
	case opPromote:
		e.PendingWork = false
		if success {
			e.Oblock = w.Oblock
			e.Level = nrCacheLevels - 1
			mq.push(i)
		} else {
			mq.ES.freeEntry(&mq.CacheAlloc, i)
		}
	case opDemote:
		if success {
			mq.hRemove(i)
			mq.ES.freeEntry(&mq.CacheAlloc, i)
		} else {
			e.PendingWork = false
			mq.ES.qPush(mq.queueOf(i), i)
		}
	case opWriteback:
		e.PendingWork = false
		mq.ES.qPush(mq.queueOf(i), i)
	}
	mq.BG.complete(w)
}

// setClearDirty is __smq_set_clear_dirty.
func (mq *smq) setClearDirty(cblock uint64, set bool) {
	i := mq.cacheEntry(cblock)
	if mq.ES.E[i].PendingWork {
		mq.ES.E[i].Dirty = set
		return
	}
	mq.ES.qDel(mq.queueOf(i), i)
	mq.ES.E[i].Dirty = set
	mq.ES.qPush(mq.queueOf(i), i)
}

// randomLevel is random_level: hash_32(cblock, 9) & (NR_CACHE_LEVELS - 1).
func randomLevel(cblock uint64) uint8 {
	return uint8((uint32(cblock)*0x61C88647)>>(32-9)) & (nrCacheLevels - 1)
}

// loadMapping is smq_load_mapping: the entry goes ahead of both sentinels.
func (mq *smq) loadMapping(oblock, cblock uint64, dirty bool, hint uint32, hintValid bool) {
	i := mq.ES.allocParticular(&mq.CacheAlloc, uint32(cblock))
	e := &mq.ES.E[i]
	e.Oblock, e.Dirty, e.PendingWork = oblock, dirty, false
	if hintValid {
		e.Level = uint8(min(hint, nrCacheLevels-1))
	} else {
		e.Level = randomLevel(cblock)
	}
	mq.pushFront(i)
}

// invalidateMapping is smq_invalidate_mapping: false when cblock is unmapped (ENODATA).
func (mq *smq) invalidateMapping(cblock uint64) bool {
	i := mq.cacheEntry(cblock)
	if !mq.ES.E[i].Allocated {
		return false
	}
	mq.ES.qDel(mq.queueOf(i), i)
	mq.hRemove(i)
	mq.ES.freeEntry(&mq.CacheAlloc, i)
	return true
}

// hint is smq_get_hint: an allocated entry's level.
func (mq *smq) hint(cblock uint64) uint32 {
	e := &mq.ES.E[mq.cacheEntry(cblock)]
	if !e.Allocated {
		return 0
	}
	return uint32(e.Level)
}

// residency is the number of cache blocks in use (reserved for a promotion or mapped).
func (mq *smq) residency() uint32 { return mq.CacheAlloc.NrAllocated }

// tick is smq_tick.
func (mq *smq) tick(now int64) {
	mq.Tick++
	mq.updateSentinels(now)
	mq.endHotspotPeriod(now)
	mq.endCachePeriod(now)
}

// mqTunables are the old mq policy's tunables, accepted without effect.
var mqTunables = []string{"random_threshold", "sequential_threshold", "discard_promote_adjustment",
	"read_promote_adjustment", "write_promote_adjustment"}

// setConfig is the policy's set_config_value: only mq takes any (its old
// tunables, with a warning); logf gets the kernel's lines.
func (mq *smq) setConfig(key, value string, logf func(string, ...any)) error {
	if mq.Kind != "mq" {
		return syscall.EINVAL
	}
	if _, ok := targets.ParseUint(value, 64); !ok {
		return syscall.EINVAL
	}
	for _, t := range mqTunables {
		if strings.EqualFold(key, t) {
			logf("cache-policy-smq: tunable '%s' no longer has any effect, mq policy is now an alias for smq", key)
			return nil
		}
	}
	return syscall.EINVAL
}

// emitConfig is the policy's config values in status: "<#args> <args>* ".
func (mq *smq) emitConfig() string {
	if mq.Kind == "mq" {
		return "10 random_threshold 0 sequential_threshold 0 discard_promote_adjustment 0 read_promote_adjustment 0 write_promote_adjustment 0 "
	}
	return "0 "
}

package cache

import (
	"fmt"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// transfer is where a bio's data goes once mapped (a remap): the device
// and the byte offset there.
type transfer struct {
	dev      targets.Dev
	offBytes int64
}

// mapping is what map_bio decided for one bio: its transfers (two for a
// writethrough write to a clean cached block), or none when the bio was
// completed while mapping it (a promotion that wrote it, or an error).
type mapping struct {
	to        []transfer
	err       error
	tick      bool // the bio carries the policy's tick (pb->tick)
	wake      bool // background work was queued: run the migration worker after it
	accounted bool
	// invalidated is the cache block a passthrough write invalidated: the
	// demotion is counted once its write to the origin succeeds.
	invalidated bool
}

// ReadAt reads p from the target's sector onwards (no cache block crossed).
func (c *Cache) ReadAt(p []byte, sector uint64) error { return c.bio(p, sector, false, false) }

// WriteAt writes p at the target's sector (no cache block crossed).
func (c *Cache) WriteAt(p []byte, sector uint64) error { return c.bio(p, sector, true, false) }

// WriteFUA is targets.FUAWriter: as cache_map does with a REQ_FUA bio
// (issue_after_commit), the write is mapped, the metadata committed if the
// transaction changed, and then the write goes to where it was mapped as a
// FUA write; a failed commit fails it unwritten. The devices are not
// flushed as a whole.
func (c *Cache) WriteFUA(p []byte, sector uint64) error { return c.bio(p, sector, true, true) }

// bio is cache_map and its completion (cache_end_io): the bio is mapped
// under mu, its data moved without it, then the policy ticks if the bio
// carried the tick, and the migration worker runs if the mapping queued
// background work. A FUA write (fua) waits for the commit of what its
// mapping changed before it is sent.
func (c *Cache) bio(p []byte, sector uint64, write, fua bool) error {
	c.wakerIfDue()
	c.ioMu.RLock()
	m := c.mapBio(p, sector, write)
	err := m.err
	if err == nil && fua {
		c.mu.Lock()
		if err = c.commitIfChanged(); err != nil {
			err = fmt.Errorf("cache %s: FUA write to sector %d: %w", c.devName(), sector, err)
		}
		c.mu.Unlock()
	}
	if err == nil {
		for _, t := range m.to {
			if write {
				err = targets.DevWrite(t.dev, p, t.offBytes, fua)
			} else {
				_, err = t.dev.ReadAt(p, t.offBytes)
			}
			if err != nil {
				err = fmt.Errorf("cache %s: %s sector %d on %s: %w", c.devName(), rw(write), sector, t.dev.Name(), err)
				break
			}
		}
	}
	c.mu.Lock()
	if m.invalidated && err == nil {
		c.st.Counters.Demotion++
	}
	c.endIO(m)
	c.mu.Unlock()
	c.ioMu.RUnlock()
	if m.wake {
		c.migrationWorker()
	}
	return err
}

func rw(write bool) string {
	if write {
		return "write"
	}
	return "read"
}

// endIO is cache_end_io's part under mu: the tick, the I/O tracker.
func (c *Cache) endIO(m mapping) {
	if m.tick {
		c.pol.tick(c.now().UnixNano())
		c.st.NeedTickBio = true
	}
	if m.accounted {
		c.inFlight--
		c.st.LastIOEndNs = c.now().UnixNano()
	}
}

// tickIfNeeded is check_if_tick_bio_needed for a bio that is no flush
// or discard.
func (c *Cache) tickIfNeeded(m *mapping) {
	if c.st.NeedTickBio {
		m.tick = true
		c.st.NeedTickBio = false
	}
}

// toOrigin is remap_to_origin_clear_discard.
func (c *Cache) toOrigin(m *mapping, sector uint64, oblock uint64, write bool) {
	c.tickIfNeeded(m)
	m.to = append(m.to, transfer{c.origin, int64(sector) * targets.SectorSize})
	if write {
		clearBit(c.st.Discarded, c.dblock(oblock))
	}
}

// cacheOff is remap_to_cache: the byte offset on the cache device of the
// target's sector held in cblock.
func (c *Cache) cacheOff(cblock, sector uint64) int64 {
	return int64(cblock*c.blockSectors+sector%c.blockSectors) * targets.SectorSize
}

// toCacheDirty is remap_to_cache_dirty.
func (c *Cache) toCacheDirty(m *mapping, sector, oblock, cblock uint64, write bool) {
	c.tickIfNeeded(m)
	m.to = append(m.to, transfer{c.cdev, c.cacheOff(cblock, sector)})
	if write {
		c.setDirty(cblock)
		clearBit(c.st.Discarded, c.dblock(oblock))
	}
}

// mapBio is cache_map and map_bio, with mu held.
func (c *Cache) mapBio(p []byte, sector uint64, write bool) mapping {
	c.mu.Lock()
	defer c.mu.Unlock()
	var m mapping
	m.accounted = true
	c.inFlight++
	block := c.oblock(sector)
	if block >= c.originBlocks {
		m.to = []transfer{{c.origin, int64(sector) * targets.SectorSize}}
		return m
	}
	optimisable := c.writeback() && (testBit(c.st.Discarded, c.dblock(block)) ||
		write && uint64(len(p)) == c.blockSectors*targets.SectorSize)
	var r lookupResult
	if optimisable {
		r = c.pol.lookup(block, write, true, true)
		if !r.hit && r.hasWork {
			m.err = c.promoteOverwrite(r.work, p, sector)
			return m
		}
	} else {
		r = c.pol.lookup(block, write, false, false)
	}
	m.wake = r.bgQueued
	switch {
	case !r.hit:
		c.countMiss(write)
		c.toOrigin(&m, sector, block, write)
	case c.passthrough() && write:
		c.countHit(write)
		if err := c.invalidate(r.cblock); err != nil {
			m.err = err
			return m
		}
		m.invalidated = true
		c.toOrigin(&m, sector, block, write)
	case c.passthrough():
		c.countHit(write)
		c.toOrigin(&m, sector, block, write)
	case write && c.writethrough() && !testBit(c.st.Dirty, r.cblock):
		c.countHit(write)
		clearBit(c.st.Discarded, c.dblock(block))
		m.to = []transfer{{c.origin, int64(sector) * targets.SectorSize}, {c.cdev, c.cacheOff(r.cblock, sector)}}
	default:
		c.countHit(write)
		c.toCacheDirty(&m, sector, block, r.cblock, write)
	}
	return m
}

func (c *Cache) countHit(write bool) {
	if write {
		c.st.Counters.WriteHit++
	} else {
		c.st.Counters.ReadHit++
	}
}

func (c *Cache) countMiss(write bool) {
	if write {
		c.st.Counters.WriteMiss++
	} else {
		c.st.Counters.ReadMiss++
	}
}

// setDirty is set_dirty: a block newly dirty is counted and told to the policy.
func (c *Cache) setDirty(cblock uint64) {
	if !testBit(c.st.Dirty, cblock) {
		setBit(c.st.Dirty, cblock)
		c.st.NrDirty++
		c.pol.setClearDirty(cblock, true)
	}
}

// forceSetDirty and forceClearDirty keep the dirty bits and the policy
// in step after a migration; the last dirty block cleaned raises an event.
func (c *Cache) forceSetDirty(cblock uint64) {
	if !testBit(c.st.Dirty, cblock) {
		setBit(c.st.Dirty, cblock)
		c.st.NrDirty++
	}
	c.pol.setClearDirty(cblock, true)
}

func (c *Cache) forceClearDirty(cblock uint64) {
	if testBit(c.st.Dirty, cblock) {
		clearBit(c.st.Dirty, cblock)
		if c.st.NrDirty--; c.st.NrDirty == 0 {
			c.ctx.Event()
		}
	}
	c.pol.setClearDirty(cblock, false)
}

// invalidate is invalidate_cblock then the commit invalidate_remove waits
// for: the policy forgets cblock, the metadata unmaps it.
func (c *Cache) invalidate(cblock uint64) error {
	if err := c.invalidateCblock(cblock); err != nil {
		return err
	}
	if err := c.commitIfChanged(); err != nil {
		return fmt.Errorf("cache %s: commit after invalidating cache block %d: %w", c.devName(), cblock, err)
	}
	return nil
}

// invalidateCblock is invalidate_cblock: an unmapped block is no error.
func (c *Cache) invalidateCblock(cblock uint64) error {
	if !c.pol.invalidateMapping(cblock) {
		return nil
	}
	if err := c.md.removeMapping(cblock); err != nil {
		c.logf("%s: invalidation failed; couldn't update on disk metadata", c.devName())
		c.metadataOpFailed("dm_cache_remove_mapping", err)
		return fmt.Errorf("cache %s: unmapping cache block %d: %w", c.devName(), cblock, syscall.EIO)
	}
	return nil
}

// Discard is process_discard_bio: every whole discard block of the range
// is marked discarded, and the range passed down to the origin unless
// no_discard_passdown.
func (c *Cache) Discard(sector, lenSectors uint64) error {
	if c.oblock(sector) >= c.originBlocks {
		// the partial block at the origin's end is not cached: passed down as it is
		return c.origin.Discard(int64(sector)*targets.SectorSize, int64(lenSectors)*targets.SectorSize)
	}
	c.wakerIfDue()
	c.mu.Lock()
	{
		b := (sector + c.discardSectors - 1) / c.discardSectors
		e := b
		if lenSectors >= c.discardSectors {
			e = (sector + lenSectors) / c.discardSectors
		}
		for ; b < e; b++ {
			setBit(c.st.Discarded, b)
		}
	}
	c.mu.Unlock()
	if !c.feat.discardPassdown {
		return nil
	}
	return c.origin.Discard(int64(sector)*targets.SectorSize, int64(lenSectors)*targets.SectorSize)
}

// SupportsDiscards is always true: the cache takes discards whether or not
// it passes them down (discards_supported).
func (c *Cache) SupportsDiscards() bool { return true }

// Flush is process_flush_bio: the metadata committed if it changed, then
// the origin and the cache device flushed.
func (c *Cache) Flush() error {
	c.wakerIfDue()
	c.mu.Lock()
	err := c.commitIfChanged()
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("cache %s: flush: %w", c.devName(), err)
	}
	if err := c.origin.Flush(); err != nil {
		return err
	}
	return c.cdev.Flush()
}

package cache

import (
	"fmt"
	"time"

	"github.com/gdmsetup/gdmsetup/targets"
)

// commitPeriod is COMMIT_PERIOD: the waker's interval.
const commitPeriod = time.Second

// idle is spare_migration_bandwidth: no I/O in flight, none ended in the
// last second, and one more block of migration within the threshold.
func (c *Cache) idle() bool {
	quiet := c.inFlight == 0 && c.now().UnixNano()-c.st.LastIOEndNs > int64(time.Second)
	return quiet && c.blockSectors <= c.st.MigrationThreshold
}

// wakerIfDue runs do_waker when a second has passed since it last ran
// (the kernel's delayed work, caught up by the next call into the target).
func (c *Cache) wakerIfDue() {
	c.mu.Lock()
	due := c.st.BackgroundAllowed && c.now().UnixNano()-c.st.LastWakerNs >= int64(commitPeriod)
	c.mu.Unlock()
	if due {
		c.waker()
	}
}

// waker is do_waker: the policy ticks and the migration worker runs (the
// commit it schedules happens only for work that waits on one).
func (c *Cache) waker() {
	c.ioMu.Lock()
	defer c.ioMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now().UnixNano()
	c.st.LastWakerNs = now
	c.pol.tick(now)
	c.checkMigrations()
}

// Commit is targets.Committer: a long-running process calls it every
// second, as the kernel's waker runs.
func (c *Cache) Commit() error {
	c.wakerIfDue()
	return nil
}

// migrationWorker runs check_migrations.
func (c *Cache) migrationWorker() {
	c.ioMu.Lock()
	defer c.ioMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checkMigrations()
}

// checkMigrations is check_migrations: the policy's background work run
// until it has none (each migration completes before the next starts).
// Called with ioMu held exclusively and mu held.
func (c *Cache) checkMigrations() {
	for {
		w, ok := c.pol.backgroundWork(c.idle())
		if !ok {
			return
		}
		if !c.st.BackgroundAllowed {
			c.pol.completeBackgroundWork(w, false)
			return
		}
		c.migrate(w)
	}
}

// discardedOblock is is_discarded_oblock.
func (c *Cache) discardedOblock(oblock uint64) bool { return testBit(c.st.Discarded, c.dblock(oblock)) }

// copyBlock is the migration's kcopyd copy of one block between the
// origin and the cache device.
func (c *Cache) copyBlock(w work, promote bool) error {
	n := c.blockSectors * targets.SectorSize
	buf := make([]byte, n)
	oOff, cOff := int64(w.Oblock*n), int64(w.Cblock*n)
	from, fromOff, to, toOff := c.cdev, cOff, c.origin, oOff
	if promote {
		from, fromOff, to, toOff = c.origin, oOff, c.cdev, cOff
	}
	if _, err := from.ReadAt(buf, fromOff); err != nil {
		return fmt.Errorf("cache %s: migration read of block %d: %w", c.devName(), w.Oblock, err)
	}
	if _, err := to.WriteAt(buf, toOff); err != nil {
		return fmt.Errorf("cache %s: migration write of block %d: %w", c.devName(), w.Oblock, err)
	}
	return nil
}

// migrate runs one migration without a bio (mg_start .. mg_complete): the
// copy unless the data need not move, the metadata update (a demotion
// commits), then the completion.
func (c *Cache) migrate(w work) {
	promote := w.Op == opPromote
	ok := true
	if (promote || testBit(c.st.Dirty, w.Cblock)) && !c.discardedOblock(w.Oblock) {
		ok = c.copyBlock(w, promote) == nil
	}
	if ok {
		switch w.Op {
		case opPromote:
			if err := c.md.insertMapping(w.Cblock, w.Oblock); err != nil {
				c.logf("%s: migration failed; couldn't insert mapping", c.devName())
				c.metadataOpFailed("dm_cache_insert_mapping", err)
				ok = false
			}
		case opDemote:
			if err := c.md.removeMapping(w.Cblock); err != nil {
				c.logf("%s: migration failed; couldn't update on disk metadata", c.devName())
				c.metadataOpFailed("dm_cache_remove_mapping", err)
				ok = false
			} else if c.commitIfChanged() != nil {
				ok = false
			}
		}
	}
	c.complete(w, ok, false)
}

// promoteOverwrite is a promotion carrying the bio (p at the target's
// sector) that writes the whole block, or into a discarded one: the bio's
// data go straight to the cache block, which then counts as dirty (the
// rest of a discarded block keeps what the cache block held).
func (c *Cache) promoteOverwrite(w work, p []byte, sector uint64) error {
	off := c.cacheOff(w.Cblock, sector)
	_, err := c.cdev.WriteAt(p, off)
	if err != nil {
		err = fmt.Errorf("cache %s: promoting block %d: %w", c.devName(), w.Oblock, err)
	} else if merr := c.md.insertMapping(w.Cblock, w.Oblock); merr != nil {
		c.logf("%s: migration failed; couldn't insert mapping", c.devName())
		c.metadataOpFailed("dm_cache_insert_mapping", merr)
		err = fmt.Errorf("cache %s: mapping block %d: %w", c.devName(), w.Oblock, merr)
	}
	c.complete(w, err == nil, true)
	return err
}

// complete is mg_complete.
func (c *Cache) complete(w work, success, overwrite bool) {
	if success {
		switch w.Op {
		case opPromote:
			c.st.Counters.Promotion++
		case opDemote:
			c.st.Counters.Demotion++
		case opWriteback:
			c.st.Counters.Writeback++
		}
	}
	switch w.Op {
	case opPromote:
		clearBit(c.st.Discarded, c.dblock(w.Oblock))
		c.pol.completeBackgroundWork(w, success)
		if success && overwrite {
			c.forceSetDirty(w.Cblock)
		} else if success {
			c.forceClearDirty(w.Cblock)
		}
	default:
		if success {
			c.forceClearDirty(w.Cblock)
		}
		c.pol.completeBackgroundWork(w, success)
	}
}

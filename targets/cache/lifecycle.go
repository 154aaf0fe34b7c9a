package cache

import (
	"errors"
	"fmt"
	"syscall"
)

// commit is the target's commit(): refused in read-only and fail modes; a
// failure switches the metadata to read-only.
func (c *Cache) commit(clean bool) error {
	if c.st.Mode >= modeReadOnly {
		return fmt.Errorf("cache %s: metadata is read-only: %w", c.devName(), syscall.EINVAL)
	}
	if err := c.md.commit(clean); err != nil {
		c.metadataOpFailed("dm_cache_commit", err)
		return fmt.Errorf("cache %s: commit: %w", c.devName(), err)
	}
	return nil
}

// commitIfChanged is commit_op: a commit only when the transaction changed something.
func (c *Cache) commitIfChanged() error {
	if !c.md.changed {
		return nil
	}
	return c.commit(false)
}

// metadataOpFailed is metadata_operation_failed: the error logged and the
// metadata switched to read-only (the kernel also aborts the transaction
// and marks the metadata as needing a check).
func (c *Cache) metadataOpFailed(op string, err error) {
	en := syscall.EIO
	errors.As(err, &en)
	c.logf("%s: metadata operation '%s' failed: error = %d", c.devName(), op, -int(en))
	c.setMode(modeReadOnly)
}

// setMode is set_cache_mode (never out of fail mode).
func (c *Cache) setMode(m metaMode) {
	if c.st.Mode == modeFail {
		m = modeFail
	}
	if m == c.st.Mode {
		return
	}
	c.md.readOnly = m != modeWrite
	c.st.Mode = m
	c.ctx.Event()
	c.ctx.Logf("cache: %s: switching cache to %s mode", c.devName(), [...]string{"write", "read-only", "fail"}[m])
}

// PreResume is cache_preresume: the cache device's size in blocks taken
// (once, or when it changed), the mappings loaded into the policy (those
// past the origin's end dropped), the discard bits loaded.
func (c *Cache) PreResume() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	csize := uint64(c.cdev.SizeBytes()) / 512 / c.blockSectors
	if c.st.Sized && !c.st.LoadedMappings {
		if c.st.Mode != modeWrite {
			c.logf("%s: unable to resume a failed-loaded cache, please check metadata.", c.devName())
		} else {
			c.logf("%s: unable to resume cache due to missing proper cache table reload", c.devName())
		}
		return syscall.EINVAL
	}
	if !c.st.Sized || csize != c.st.CacheSize {
		if csize > c.st.CacheSize {
			c.logf("%s: unable to extend cache due to missing cache table reload", c.devName())
			return syscall.EINVAL
		}
		if c.st.LoadedMappings {
			for cb := csize; cb < c.st.CacheSize; cb++ {
				if testBit(c.st.Dirty, cb) {
					c.logf("%s: unable to shrink cache; cache block %d is dirty", c.devName(), cb)
					return syscall.EINVAL
				}
			}
		}
		if err := c.md.resize(csize, c.ctx.Logf); err != nil {
			c.logf("%s: could not resize cache metadata", c.devName())
			c.metadataOpFailed("dm_cache_resize", err)
			return fmt.Errorf("cache %s: %w", c.devName(), err)
		}
		c.st.CacheSize = csize
		c.st.Sized = true
	}
	if !c.st.LoadedMappings {
		if err := c.loadMappings(); err != nil {
			return err
		}
		c.st.LoadedMappings = true
	}
	if !c.st.LoadedDiscards {
		if err := c.loadDiscards(); err != nil {
			c.logf("%s: could not load origin discards", c.devName())
			c.metadataOpFailed("dm_cache_load_discards", err)
			return fmt.Errorf("cache %s: %w", c.devName(), err)
		}
		c.st.LoadedDiscards = true
	}
	return nil
}

// loadMappings is the mapping load of preresume (load_filtered_mapping
// and truncate_oblocks).
func (c *Cache) loadMappings() error {
	c.st.Invalid = newBits(c.st.CacheSize)
	err := c.md.loadMappings(c.pol.id(), func(m loadedMapping) error {
		err := c.loadMapping(m)
		if err != nil {
			c.ctx.Logf("cache metadata: policy couldn't load cache block %d", m.cblock)
		}
		return err
	})
	if err != nil {
		c.logf("%s: could not load cache mappings", c.devName())
		if !errors.Is(err, syscall.EFBIG) && !errors.Is(err, syscall.EBUSY) {
			c.metadataOpFailed("dm_cache_load_mappings", err)
		}
		return fmt.Errorf("cache %s: loading mappings: %w", c.devName(), err)
	}
	for cb := uint64(0); cb < c.st.CacheSize; cb++ {
		if !testBit(c.st.Invalid, cb) {
			continue
		}
		if err := c.md.removeMapping(cb); err != nil {
			c.logf("%s: invalidation failed; couldn't update on disk metadata", c.devName())
			c.metadataOpFailed("dm_cache_remove_mapping", err)
			return fmt.Errorf("cache %s: %w", c.devName(), err)
		}
	}
	return nil
}

// loadMapping is load_filtered_mapping and load_mapping for one mapping.
func (c *Cache) loadMapping(m loadedMapping) error {
	if m.oblock >= c.originBlocks {
		if m.dirty {
			c.logf("%s: unable to shrink origin; cache block %d is dirty", c.devName(), m.cblock)
			return fmt.Errorf("cache block %d (origin block %d) is dirty: %w", m.cblock, m.oblock, syscall.EFBIG)
		}
		setBit(c.st.Invalid, m.cblock)
		return nil
	}
	if m.dirty {
		if c.passthrough() {
			c.logf("%s: cannot enter passthrough mode unless all blocks are clean", c.devName())
			return fmt.Errorf("cache block %d is dirty: %w", m.cblock, syscall.EBUSY)
		}
		setBit(c.st.Dirty, m.cblock)
		c.st.NrDirty++
	} else {
		clearBit(c.st.Dirty, m.cblock)
	}
	c.pol.loadMapping(m.oblock, m.cblock, m.dirty, m.hint, m.hintValid)
	return nil
}

// loadDiscards is the discard load of preresume (load_discard,
// set_discard_range): runs of discarded blocks of the metadata's discard
// block size become the current discard blocks they cover wholly.
func (c *Cache) loadDiscards() error {
	c.st.Discarded = newBits(c.discardNrBlocks)
	mdSectors := c.md.sb.discardSectors
	var begin, end uint64
	emit := func() {
		if begin == end {
			return
		}
		b := (begin*mdSectors + c.discardSectors - 1) / c.discardSectors
		e := min(end*mdSectors/c.discardSectors, c.discardNrBlocks)
		for ; b < e; b++ {
			setBit(c.st.Discarded, b)
		}
	}
	err := c.md.loadDiscards(func(dblock uint64, discarded bool) {
		switch {
		case discarded && dblock == end:
			end++
		case discarded:
			emit()
			begin, end = dblock, dblock+1
		default:
			emit()
			begin, end = 0, 0
		}
	})
	if err != nil {
		return err
	}
	emit()
	return nil
}

// Resume is cache_resume: the next bio ticks, background work is allowed,
// and the waker runs.
func (c *Cache) Resume() {
	c.mu.Lock()
	c.st.NeedTickBio = true
	c.st.BackgroundAllowed = true
	c.st.Suspended = false
	c.mu.Unlock()
	c.waker()
}

// PostSuspend is cache_postsuspend: background work stopped, then, in
// write mode, the dirty bits, discard bits, counters and hints written and
// committed with the clean-shutdown flag (sync_metadata).
func (c *Cache) PostSuspend() error {
	c.ioMu.Lock()
	defer c.ioMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.st.BackgroundAllowed = false
	c.st.Suspended = true
	if c.st.Mode == modeWrite {
		c.syncMetadata()
	}
	return nil
}

// syncMetadata is sync_metadata; failures are logged, and a commit still
// made, without the clean-shutdown flag.
func (c *Cache) syncMetadata() {
	dev := c.devName()
	ok := true
	if err := c.md.setDirtyBits(c.st.Dirty); err != nil {
		c.metadataOpFailed("dm_cache_set_dirty_bits", err)
		c.logf("%s: could not write dirty bitset", dev)
		ok = false
	}
	if err := c.writeDiscards(); err != nil {
		c.logf("%s: could not write discard bitset", dev)
		ok = false
	}
	if c.st.Mode < modeReadOnly {
		k := c.st.Counters
		c.md.sb.stats = stats{ReadHits: k.ReadHit, ReadMisses: k.ReadMiss, WriteHits: k.WriteHit, WriteMisses: k.WriteMiss}
	}
	if c.st.Mode >= modeReadOnly {
		ok = false
	} else if err := c.md.writeHints(c.pol.id(), c.pol.hint); err != nil {
		c.metadataOpFailed("dm_cache_write_hints", err)
		c.logf("%s: could not write hints", dev)
		ok = false
	}
	if err := c.commit(ok); err != nil {
		c.logf("%s: could not write cache metadata", dev)
	}
}

// writeDiscards is write_discard_bitset.
func (c *Cache) writeDiscards() error {
	if c.st.Mode >= modeReadOnly {
		return syscall.EINVAL
	}
	if err := c.md.discardResize(c.discardSectors, c.discardNrBlocks); err != nil {
		c.logf("%s: could not resize on-disk discard bitset", c.devName())
		c.metadataOpFailed("dm_cache_discard_bitset_resize", err)
		return err
	}
	for b := uint64(0); b < c.discardNrBlocks; b++ {
		if err := c.md.setDiscard(b, testBit(c.st.Discarded, b)); err != nil {
			c.metadataOpFailed("dm_cache_set_discard", err)
			return err
		}
	}
	return nil
}

// StopBackground ends a process's use of a live table: what its I/O
// changed is committed (standing in for the commits of the kernel's
// worker that a later process cannot make for it).
func (c *Cache) StopBackground() {
	c.ioMu.Lock()
	defer c.ioMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st.Mode == modeWrite {
		// a failure has switched the metadata to read-only, which status reports
		_ = c.commitIfChanged()
	}
}

// Destroy is cache_dtr: the metadata object released, nothing written.
func (c *Cache) Destroy() {}

// Close releases the table's hold on the metadata object.
func (c *Cache) Close() error {
	releaseMetadata(c.md)
	return nil
}

package spacemap

// ieCacheSlots is IE_CACHE_SIZE: the slots of the kernel's cache of disk
// space-map index entries.
const ieCacheSlots = 64

// ieCache mirrors which index entries the kernel's disk space map holds
// changed in its cache (struct ll_disk's ie_cache) and so when it writes
// them into the index btree: an entry saved to its slot waits there, dirty,
// until another index takes the slot (loaded or saved: the dirty entry is
// written first) or the commit writes the dirty slots in slot order. The
// entries themselves live in ll.index; a transaction starts with no dirty
// slot, so which clean entries the cache holds changes nothing on disk.
type ieCache [ieCacheSlots]struct {
	index        uint64
	valid, dirty bool
}

// ieSlot is hash_index: dm_hash_block(index, IE_CACHE_MASK), the index
// times the prime 2^32-5 in 32 bits.
func ieSlot(index uint64) int {
	return int(uint32(index)*4294967291) & (ieCacheSlots - 1)
}

// take makes index the entry of its slot, dirty or not, and returns the
// index of a different dirty entry it displaced (evicted false when none).
func (c *ieCache) take(index uint64, dirty bool) (evicted uint64, ok bool) {
	s := &c[ieSlot(index)]
	if s.valid && s.index == index {
		s.dirty = s.dirty || dirty
		return 0, false
	}
	evicted, ok = s.index, s.valid && s.dirty
	s.index, s.valid, s.dirty = index, true, dirty
	return evicted, ok
}

// flush returns the dirty entries in slot order and marks them clean.
func (c *ieCache) flush() []uint64 {
	var out []uint64
	for i := range c {
		if s := &c[i]; s.valid && s.dirty {
			out = append(out, s.index)
			s.dirty = false
		}
	}
	return out
}

package metadata

// txManager hands out and shadows metadata blocks for one transaction: a block that
// belonged to the last commit is never written in place; it is copied to a new block
// (its reference moves to the copy), and blocks allocated in this transaction with a
// single reference are modified in place. Not safe for concurrent use (Pool.mu).
type txManager struct {
	cache *blockCache
	msm   *refCounts // metadata space map counts
	fresh map[uint64]struct{}
}

func newTxManager(cache *blockCache, msm *refCounts) *txManager {
	return &txManager{cache: cache, msm: msm, fresh: make(map[uint64]struct{})}
}

// newBlock allocates a zeroed metadata block with count 1.
func (t *txManager) newBlock(salt uint32) (uint64, *cachedBlock, error) {
	nr, err := t.msm.alloc()
	if err != nil {
		return 0, nil, err
	}
	t.fresh[nr] = struct{}{}
	return nr, t.cache.zero(nr, salt), nil
}

// shadow returns a writable copy of block nr. shared reports that the original had
// other references, so the caller must add references to everything the copy points at.
func (t *txManager) shadow(nr uint64, salt uint32, what string) (newNr uint64, b *cachedBlock, shared bool, err error) {
	if err := t.msm.check(nr); err != nil {
		return 0, nil, false, &BlockError{Block: nr, What: what, Msg: err.Error()}
	}
	count := t.msm.get(nr)
	if _, ok := t.fresh[nr]; ok && count == 1 {
		b, err := t.cache.read(nr, salt, what)
		if err != nil {
			return 0, nil, false, err
		}
		b.dirty = true
		return nr, b, false, nil
	}
	old, err := t.cache.read(nr, salt, what)
	if err != nil {
		return 0, nil, false, err
	}
	newNr, b, err = t.newBlock(salt)
	if err != nil {
		return 0, nil, false, err
	}
	copy(b.data, old.data)
	if err := t.dec(nr); err != nil {
		return 0, nil, false, err
	}
	return newNr, b, count > 1, nil
}

// dec drops a reference to metadata block nr (no recursion into what it points at).
func (t *txManager) dec(nr uint64) error {
	freed, err := t.msm.dec(nr)
	if err != nil {
		return err
	}
	if freed {
		t.cache.forget(nr)
		delete(t.fresh, nr)
	}
	return nil
}

// endTransaction is called after a successful commit.
func (t *txManager) endTransaction() { clear(t.fresh) }

package block

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// DefaultCacheBlocks is the cache bound used when NewManager is given 0.
const DefaultCacheBlocks = 4096

// ErrLocked is wrapped when a lock request conflicts with a lock already held.
var ErrLocked = errors.New("block is locked")

// ErrReadOnly is wrapped when writing through a read-only Manager.
var ErrReadOnly = errors.New("block manager is read-only")

// ErrOutOfRange is wrapped when a block number is beyond the device.
var ErrOutOfRange = errors.New("block beyond end of device")

// Block is a locked, cached metadata block. Its Data is valid until Unlock.
// A read-locked block's Data must not be modified.
type Block struct {
	nr        uint64
	data      []byte
	validator Validator
	readers   int
	writer    bool
	dirty     bool
	// LRU list links (only for unlocked entries is the position meaningful).
	prev, next *Block
}

// Nr returns the block's location.
func (b *Block) Nr() uint64 { return b.nr }

// Data returns the block's 4096 bytes.
func (b *Block) Data() []byte { return b.data }

// Manager caches and locks the blocks of a Device (the kernel's
// dm_block_manager). Any number of read locks, or one write lock, may be held
// on a block; a conflicting request fails with ErrLocked rather than waiting,
// so callers serialise writers (as the kernel's users hold a root lock).
// Validators run on every read from the device and before every write.
//
// The cache holds at most CacheBlocks unlocked blocks; clean blocks are
// evicted least-recently-used first, and dirty blocks are written back
// (never block 0 before a Flush) when nothing clean is left.
//
// Concurrency: mu protects every field and every Block's bookkeeping; the
// device is accessed with mu held. Each method takes mu for its call; Hold
// takes it once for a run of calls (a writer's whole btree operation).
type Manager struct {
	mu       sync.Mutex
	held     Held
	dev      Device
	nrBlocks uint64
	readOnly bool
	limit    int
	cache    table
	// Unlocked blocks sit on one of two LRU lists (sentinels; next = most
	// recent): clean ones can be evicted at once, dirty ones after a write-back.
	clean, dirty Block
	free         []*Block
	scratch      []*Block // reused by flushes to list and sort dirty blocks
}

func byNr(a, b *Block) int { return cmp.Compare(a.nr, b.nr) }

// NewManager returns a Manager over dev. cacheBlocks bounds the cache
// (0 selects DefaultCacheBlocks).
func NewManager(dev Device, cacheBlocks int, readOnly bool) (*Manager, error) {
	nr, err := NrBlocks(dev)
	if err != nil {
		return nil, err
	}
	if cacheBlocks <= 0 {
		cacheBlocks = DefaultCacheBlocks
	}
	m := &Manager{dev: dev, nrBlocks: nr, readOnly: readOnly, limit: cacheBlocks, cache: newTable(cacheBlocks)}
	m.held.m = m
	m.clean.next, m.clean.prev = &m.clean, &m.clean
	m.dirty.next, m.dirty.prev = &m.dirty, &m.dirty
	return m, nil
}

// NrBlocks returns the number of metadata blocks on the device (as of
// NewManager or the last Resize).
func (m *Manager) NrBlocks() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.nrBlocks
}

// Resize re-reads the device size (after the device has grown).
func (m *Manager) Resize() (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	nr, err := NrBlocks(m.dev)
	if err != nil {
		return 0, err
	}
	m.nrBlocks = nr
	return nr, nil
}

// ReadOnly reports whether writes are refused.
func (m *Manager) ReadOnly() bool { return m.readOnly }

// Device returns the underlying device.
func (m *Manager) Device() Device { return m.dev }

func (m *Manager) lruRemove(b *Block) {
	if b.prev != nil {
		b.prev.next = b.next
		b.next.prev = b.prev
		b.prev, b.next = nil, nil
	}
}

// lruPushFront puts an unlocked block at the front of its list.
func (m *Manager) lruPushFront(b *Block) {
	list := &m.clean
	if b.dirty {
		list = &m.dirty
	}
	b.next = list.next
	b.prev = list
	list.next.prev = b
	list.next = b
}

// get returns the entry for nr, reading it (validated by v) when it is not
// cached. zero skips the read and returns a zeroed buffer; the caller has
// checked that a cached entry is unlocked.
func (m *Manager) get(nr uint64, v Validator, zero bool) (*Block, error) {
	if b := m.cache.get(nr); b != nil {
		return m.revalidate(b, v, zero)
	}
	return m.load(nr, v, zero)
}

// revalidate returns cached block b for a request with validator v: a
// block cached without a validator is checked by v once; a block cached
// with another validator is refused. zero clears it instead.
func (m *Manager) revalidate(b *Block, v Validator, zero bool) (*Block, error) {
	if zero {
		clear(b.data)
		b.validator = v
		return b, nil
	}
	if b.validator == v {
		return b, nil
	}
	if b.validator != nil && v != nil {
		return nil, fmt.Errorf("block %d: validator mismatch (cached as %s, wanted %s)", b.nr, b.validator.Name(), v.Name())
	}
	if v != nil {
		if err := v.Check(b.data, b.nr); err != nil {
			return nil, fmt.Errorf("block %d: %s: %w", b.nr, v.Name(), err)
		}
		b.validator = v
	}
	return b, nil
}

// load reads block nr (not cached) into a cache entry, making room first.
func (m *Manager) load(nr uint64, v Validator, zero bool) (*Block, error) {
	if nr >= m.nrBlocks {
		return nil, fmt.Errorf("block %d: %w (%d blocks)", nr, ErrOutOfRange, m.nrBlocks)
	}
	if err := m.makeRoom(); err != nil {
		return nil, err
	}
	var b *Block
	if n := len(m.free); n > 0 {
		b = m.free[n-1]
		m.free = m.free[:n-1]
		*b = Block{data: b.data}
	} else {
		b = &Block{data: make([]byte, BlockSize)}
	}
	b.nr = nr
	if zero {
		clear(b.data)
	} else {
		if _, err := m.dev.ReadAt(b.data, int64(nr)*BlockSize); err != nil {
			m.free = append(m.free, b)
			return nil, fmt.Errorf("read block %d: %w", nr, err)
		}
		if v != nil {
			if err := v.Check(b.data, nr); err != nil {
				m.free = append(m.free, b)
				return nil, fmt.Errorf("block %d: %s: %w", nr, v.Name(), err)
			}
		}
	}
	b.validator = v
	m.cache.put(b)
	return b, nil
}

// makeRoom evicts unlocked blocks until the cache is under its bound:
// clean ones LRU first; when none is left, all unlocked dirty blocks but
// block 0 are written back (in block order) and become clean. Locked blocks
// are never evicted, so the cache may exceed the bound while many locks are
// held.
func (m *Manager) makeRoom() error {
	for m.cache.len() >= m.limit {
		victim := m.clean.prev
		if victim == &m.clean {
			if err := m.writeBackAll(); err != nil {
				return err
			}
			if victim = m.clean.prev; victim == &m.clean {
				return nil
			}
		}
		m.lruRemove(victim)
		m.cache.remove(victim.nr)
		m.free = append(m.free, victim)
	}
	return nil
}

// writeBackAll writes every dirty unlocked block except block 0 and moves
// it to the clean list.
func (m *Manager) writeBackAll() error {
	dirty := m.scratch[:0]
	for b := m.dirty.next; b != &m.dirty; b = b.next {
		if b.nr != 0 {
			dirty = append(dirty, b)
		}
	}
	m.scratch = dirty[:0]
	slices.SortFunc(dirty, byNr)
	for _, b := range dirty {
		if err := m.writeBackUnlocked(b); err != nil {
			return err
		}
	}
	return nil
}

// writeBackUnlocked writes an unlocked dirty block and moves it to the clean list.
func (m *Manager) writeBackUnlocked(b *Block) error {
	if err := m.writeBack(b); err != nil {
		return err
	}
	m.lruRemove(b)
	m.lruPushFront(b)
	return nil
}

func (m *Manager) writeBack(b *Block) error {
	if b.validator != nil {
		b.validator.Prepare(b.data, b.nr)
	}
	if _, err := m.dev.WriteAt(b.data, int64(b.nr)*BlockSize); err != nil {
		return fmt.Errorf("write block %d: %w", b.nr, err)
	}
	b.dirty = false
	return nil
}

// ReadLock returns block nr locked for reading, validated by v (nil skips validation).
func (m *Manager) ReadLock(nr uint64, v Validator) (*Block, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.readLock(nr, v)
}

// View runs fn on block nr's data (validated by v) under the manager's lock,
// a cheaper ReadLock+Unlock for short reads. fn must not modify data, keep
// it, or call back into the manager.
func (m *Manager) View(nr uint64, v Validator, fn func(data []byte) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	data, err := m.peek(nr, v)
	if err != nil {
		return err
	}
	return fn(data)
}

// WriteLock returns block nr locked for writing, validated by v; it is
// marked dirty and written (after v.Prepare) by a later Flush.
func (m *Manager) WriteLock(nr uint64, v Validator) (*Block, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.writeLock(nr, v, false)
}

// WriteLockZero is WriteLock without reading: the block starts zeroed.
func (m *Manager) WriteLockZero(nr uint64, v Validator) (*Block, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.writeLock(nr, v, true)
}

// Unlock releases a lock taken by ReadLock or WriteLock*.
func (m *Manager) Unlock(b *Block) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.unlock(b)
}

// Hold takes the manager's lock until Release and returns the block
// operations to use meanwhile, which then cost no locking each. Every other
// caller of the Manager waits until Release, so a holder must not wait for
// another goroutine that uses the Manager.
func (m *Manager) Hold() *Held {
	m.mu.Lock()
	return &m.held
}

// Held is a Manager whose lock the caller holds (see Hold): the same
// block operations, plus Peek. It belongs to the goroutine that called Hold.
type Held struct{ m *Manager }

// Release gives the manager's lock back; h must not be used after it.
func (h *Held) Release() { h.m.mu.Unlock() }

// ReadLock is Manager.ReadLock while held.
func (h *Held) ReadLock(nr uint64, v Validator) (*Block, error) { return h.m.readLock(nr, v) }

// WriteLock is Manager.WriteLock while held.
func (h *Held) WriteLock(nr uint64, v Validator) (*Block, error) { return h.m.writeLock(nr, v, false) }

// WriteLockZero is Manager.WriteLockZero while held.
func (h *Held) WriteLockZero(nr uint64, v Validator) (*Block, error) {
	return h.m.writeLock(nr, v, true)
}

// Unlock is Manager.Unlock while held.
func (h *Held) Unlock(b *Block) { h.m.unlock(b) }

// View is Manager.View while held.
func (h *Held) View(nr uint64, v Validator, fn func(data []byte) error) error {
	data, err := h.m.peek(nr, v)
	if err != nil {
		return err
	}
	return fn(data)
}

// Peek returns block nr's data, validated by v, without locking the block:
// the data must not be modified, and it stays valid only until the next
// call through h (which may evict it) or Release.
func (h *Held) Peek(nr uint64, v Validator) ([]byte, error) { return h.m.peek(nr, v) }

func (m *Manager) readLock(nr uint64, v Validator) (*Block, error) {
	b, err := m.get(nr, v, false)
	if err != nil {
		return nil, err
	}
	if b.writer {
		return nil, fmt.Errorf("read lock block %d: %w (write-locked)", nr, ErrLocked)
	}
	b.readers++
	m.lruRemove(b)
	return b, nil
}

// peek returns the data of block nr validated by v and marks it recently used.
func (m *Manager) peek(nr uint64, v Validator) ([]byte, error) {
	b, err := m.get(nr, v, false)
	if err != nil {
		return nil, err
	}
	if b.writer {
		return nil, fmt.Errorf("read block %d: %w (write-locked)", nr, ErrLocked)
	}
	if b.readers == 0 && b.prev != &m.clean && b.prev != &m.dirty {
		m.lruRemove(b)
		m.lruPushFront(b)
	}
	return b.data, nil
}

func (m *Manager) writeLock(nr uint64, v Validator, zero bool) (*Block, error) {
	if m.readOnly {
		return nil, fmt.Errorf("write lock block %d: %w", nr, ErrReadOnly)
	}
	b := m.cache.get(nr)
	var err error
	if b != nil {
		if b.writer || b.readers > 0 {
			return nil, fmt.Errorf("write lock block %d: %w", nr, ErrLocked)
		}
		b, err = m.revalidate(b, v, zero)
	} else {
		b, err = m.load(nr, v, zero)
	}
	if err != nil {
		return nil, err
	}
	b.writer = true
	b.dirty = true
	m.lruRemove(b)
	return b, nil
}

func (m *Manager) unlock(b *Block) {
	if b.writer {
		b.writer = false
	} else if b.readers > 0 {
		b.readers--
	}
	if !b.writer && b.readers == 0 {
		m.lruPushFront(b)
	}
}

// Flush writes every dirty unlocked block (after its validator's Prepare)
// and then syncs the device. A block still write-locked is an error.
func (m *Manager) Flush() error {
	return m.flush(false, 0)
}

// FlushExcept is Flush leaving block superblock dirty (and possibly
// write-locked) in the cache: the first half of a commit.
func (m *Manager) FlushExcept(superblock uint64) error {
	return m.flush(true, superblock)
}

func (m *Manager) flush(skip bool, skipNr uint64) error {
	if m.readOnly {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	dirty := m.scratch[:0]
	m.cache.each(func(b *Block) {
		if b.dirty && (!skip || b.nr != skipNr) {
			dirty = append(dirty, b)
		}
	})
	m.scratch = dirty[:0]
	slices.SortFunc(dirty, byNr)
	for _, b := range dirty {
		if b.writer {
			return fmt.Errorf("flush: block %d is still write-locked", b.nr)
		}
	}
	for _, b := range dirty {
		write := m.writeBack
		if b.readers == 0 {
			write = m.writeBackUnlocked
		}
		if err := write(b); err != nil {
			return err
		}
	}
	if err := m.dev.Sync(); err != nil {
		return fmt.Errorf("sync metadata device: %w", err)
	}
	return nil
}

// DiscardDirty drops every dirty unlocked block from the cache (abort).
// Clean blocks stay: they match the device.
func (m *Manager) DiscardDirty() {
	m.mu.Lock()
	defer m.mu.Unlock()
	drop := m.scratch[:0]
	m.cache.each(func(b *Block) {
		if b.dirty && !b.writer && b.readers == 0 {
			drop = append(drop, b)
		}
	})
	m.scratch = drop[:0]
	for _, b := range drop {
		m.lruRemove(b)
		m.cache.remove(b.nr)
		m.free = append(m.free, b)
	}
}

// Cached returns the number of blocks in the cache (for tests and stats).
func (m *Manager) Cached() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cache.len()
}

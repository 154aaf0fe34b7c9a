// Package transaction is the kernel's dm-transaction-manager: copy-on-write
// ("shadowing") of metadata blocks so that a crash always leaves the last
// committed transaction intact, over a block.Manager and a SpaceMap.
package transaction

import (
	"errors"
	"fmt"
	"sync"

	"github.com/gdmsetup/gdmsetup/pdata/block"
)

// SpaceMap is what the transaction manager needs from a space map (the
// kernel's struct dm_space_map); spacemap.Metadata implements it.
type SpaceMap interface {
	NrBlocks() (uint64, error)
	NrFree() (uint64, error)
	Count(b uint64) (uint32, error)
	CountIsMoreThanOne(b uint64) (bool, error)
	Inc(b uint64) error
	Dec(b uint64) error
	NewBlock() (uint64, error)
	Commit() error
}

// ErrReadOnly is wrapped when a read-only (clone) manager is asked to write.
var ErrReadOnly = errors.New("transaction manager is read-only")

// Manager shadows blocks within a transaction. A block allocated or shadowed
// in the current transaction and referenced once is written in place;
// anything else is copied to a new block first.
//
// Concurrency: mu protects shadows; the block manager and space map do their
// own locking, but writers must be serialised by the caller (one transaction
// at a time), as the kernel's users hold a root lock.
type Manager struct {
	bm       *block.Manager
	sm       SpaceMap
	readOnly bool

	mu sync.Mutex
	// shadows holds the blocks allocated or shadowed in this transaction;
	// the value is true while the block is known to be referenced once
	// (no Inc through this manager since), which spares a count lookup.
	shadows map[uint64]bool
}

// New returns a Manager over bm whose space map is set later with SetSpaceMap
// (the metadata space map needs the Manager to exist first).
func New(bm *block.Manager) *Manager {
	return &Manager{bm: bm, shadows: make(map[uint64]bool)}
}

// SetSpaceMap sets the space map used for allocation and reference counts.
func (tm *Manager) SetSpaceMap(sm SpaceMap) { tm.sm = sm }

// SpaceMap returns the space map.
func (tm *Manager) SpaceMap() SpaceMap { return tm.sm }

// BlockManager returns the block manager.
func (tm *Manager) BlockManager() *block.Manager { return tm.bm }

// ReadOnlyClone returns a Manager sharing the block manager and space map
// that only reads (the kernel's dm_tm_create_non_blocking_clone): every
// write, shadow, allocation or reference change fails with ErrReadOnly.
func (tm *Manager) ReadOnlyClone() *Manager {
	return &Manager{bm: tm.bm, sm: tm.sm, readOnly: true}
}

// IsReadOnly reports whether this is a read-only clone.
func (tm *Manager) IsReadOnly() bool { return tm.readOnly }

func (tm *Manager) refuse(op string, b uint64) error {
	return fmt.Errorf("%s block %d: %w", op, b, ErrReadOnly)
}

// ReadLock returns block b locked for reading, validated by v.
func (tm *Manager) ReadLock(b uint64, v block.Validator) (*block.Block, error) {
	return tm.bm.ReadLock(b, v)
}

// View runs fn on block b's data validated by v (see block.Manager.View).
func (tm *Manager) View(b uint64, v block.Validator, fn func(data []byte) error) error {
	return tm.bm.View(b, v, fn)
}

// Unlock releases a block returned by ReadLock, NewBlock or Shadow.
func (tm *Manager) Unlock(b *block.Block) { tm.bm.Unlock(b) }

// NewBlock allocates a block from the space map and returns it zeroed and
// write-locked; it counts as shadowed in this transaction.
func (tm *Manager) NewBlock(v block.Validator) (*block.Block, error) {
	if tm.readOnly {
		return nil, tm.refuse("new", 0)
	}
	nr, err := tm.sm.NewBlock()
	if err != nil {
		return nil, fmt.Errorf("allocate metadata block: %w", err)
	}
	blk, err := tm.bm.WriteLockZero(nr, v)
	if err != nil {
		return nil, err
	}
	tm.mu.Lock()
	tm.shadows[nr] = true
	tm.mu.Unlock()
	return blk, nil
}

// shadowState reports whether b was allocated or shadowed in this
// transaction, and whether it is still known to be referenced once.
func (tm *Manager) shadowState(b uint64) (isShadow, exclusive bool) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	exclusive, isShadow = tm.shadows[b]
	return isShadow, exclusive
}

// Shadow returns a write-locked block holding orig's contents that may be
// modified: orig itself when it was already shadowed in this transaction and
// is referenced once, else a new copy (orig's count is decremented).
// incChildren reports that orig was shared, so the caller must increment
// the reference counts of everything the copy points to.
func (tm *Manager) Shadow(orig uint64, v block.Validator) (blk *block.Block, incChildren bool, err error) {
	if tm.readOnly {
		return nil, false, tm.refuse("shadow", orig)
	}
	isShadow, exclusive := tm.shadowState(orig)
	if exclusive {
		blk, err := tm.bm.WriteLock(orig, v)
		return blk, false, err
	}
	shared, err := tm.sm.CountIsMoreThanOne(orig)
	if err != nil {
		return nil, false, fmt.Errorf("shadow block %d: %w", orig, err)
	}
	if !shared && isShadow {
		blk, err := tm.bm.WriteLock(orig, v)
		return blk, false, err
	}
	nr, err := tm.sm.NewBlock()
	if err != nil {
		return nil, false, fmt.Errorf("shadow block %d: allocate: %w", orig, err)
	}
	if err := tm.sm.Dec(orig); err != nil {
		return nil, false, fmt.Errorf("shadow block %d: %w", orig, err)
	}
	src, err := tm.bm.ReadLock(orig, v)
	if err != nil {
		return nil, false, err
	}
	blk, err = tm.bm.WriteLockZero(nr, v)
	if err != nil {
		tm.bm.Unlock(src)
		return nil, false, err
	}
	copy(blk.Data(), src.Data())
	tm.bm.Unlock(src)
	tm.mu.Lock()
	tm.shadows[nr] = true
	tm.mu.Unlock()
	return blk, shared, nil
}

// Inc increments the reference count of block b. Metadata blocks must be
// incremented through the Manager (not the space map directly) so that a
// shared block is never written in place.
func (tm *Manager) Inc(b uint64) error {
	if tm.readOnly {
		return tm.refuse("inc", b)
	}
	tm.mu.Lock()
	if _, ok := tm.shadows[b]; ok {
		tm.shadows[b] = false
	}
	tm.mu.Unlock()
	return tm.sm.Inc(b)
}

// Dec decrements the reference count of block b.
func (tm *Manager) Dec(b uint64) error {
	if tm.readOnly {
		return tm.refuse("dec", b)
	}
	return tm.sm.Dec(b)
}

// Ref returns the reference count of block b.
func (tm *Manager) Ref(b uint64) (uint32, error) { return tm.sm.Count(b) }

// IsShared reports whether block b is referenced more than once.
func (tm *Manager) IsShared(b uint64) (bool, error) { return tm.sm.CountIsMoreThanOne(b) }

// PreCommit commits the space map (which may shadow its own blocks) and
// writes every dirty block except block 0 (the thin and clone superblock),
// then syncs.
// After it, the caller copies the space-map root into its superblock.
func (tm *Manager) PreCommit() error {
	if tm.readOnly {
		return tm.refuse("pre-commit", 0)
	}
	if err := tm.sm.Commit(); err != nil {
		return fmt.Errorf("commit space map: %w", err)
	}
	return tm.bm.FlushExcept(0)
}

// Commit ends the transaction: everything but the superblock is written and
// synced, then sb (write-locked by the caller, already filled in) is
// unlocked, written and synced. New shadows start afresh.
func (tm *Manager) Commit(sb *block.Block) error {
	if tm.readOnly {
		return tm.refuse("commit", 0)
	}
	if err := tm.bm.FlushExcept(sb.Nr()); err != nil {
		tm.bm.Unlock(sb)
		return err
	}
	tm.mu.Lock()
	clear(tm.shadows)
	tm.mu.Unlock()
	tm.bm.Unlock(sb)
	if err := tm.bm.Flush(); err != nil {
		return fmt.Errorf("commit superblock: %w", err)
	}
	return nil
}

// Abort forgets the shadows of the current transaction and drops dirty
// blocks from the cache. The caller then reopens its space maps and trees
// from the last committed superblock.
func (tm *Manager) Abort() {
	tm.mu.Lock()
	clear(tm.shadows)
	tm.mu.Unlock()
	tm.bm.DiscardDirty()
}

// Package transaction is the kernel's dm-transaction-manager: copy-on-write
// ("shadowing") of metadata blocks so that a crash always leaves the last
// committed transaction intact, over a block.Manager and a SpaceMap.
package transaction

import (
	"errors"
	"fmt"

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
// Concurrency: a Manager is used by one goroutine at a time (the caller
// serialises its writers and readers, as the kernel's users hold a root
// lock); other goroutines read through their own ReadOnlyClone. Between
// Hold and Release the block manager's lock is held, so the block
// operations of a btree or space-map operation cost no locking each.
type Manager struct {
	bm       *block.Manager
	sm       SpaceMap
	readOnly bool
	// blocks is bm, or while held (depth > 0) the block operations held.
	blocks blockAccess
	held   *block.Held
	depth  int
	// shadows holds the blocks allocated or shadowed in this transaction.
	shadows shadowSet
	// epoch moves on every change that may reshape a tree or share a block.
	epoch uint64
}

// blockAccess is the block manager's per-block interface, locking per call
// (*block.Manager) or held (*block.Held).
type blockAccess interface {
	ReadLock(nr uint64, v block.Validator) (*block.Block, error)
	WriteLock(nr uint64, v block.Validator) (*block.Block, error)
	WriteLockZero(nr uint64, v block.Validator) (*block.Block, error)
	View(nr uint64, v block.Validator, fn func(data []byte) error) error
	Unlock(b *block.Block)
}

// New returns a Manager over bm whose space map is set later with SetSpaceMap
// (the metadata space map needs the Manager to exist first).
func New(bm *block.Manager) *Manager {
	return &Manager{bm: bm, blocks: bm, epoch: 1}
}

// Epoch returns a counter that moves on every Touch, Inc, Dec, Commit and
// Abort. A writer that caches a path through a tree (the btree's insert
// finger) may reuse it while the epoch is unchanged: no node of it was
// reshaped, shared or left behind by a new transaction meanwhile. Never 0.
func (tm *Manager) Epoch() uint64 { return tm.epoch }

// Touch moves the epoch: the caller is about to reshape a tree.
func (tm *Manager) Touch() { tm.epoch++ }

// WriteLockShadowed write-locks b for writing in place when it was
// allocated or shadowed in this transaction and is still referenced once
// (what Shadow would return unchanged); ok is false, and nothing is
// locked, otherwise.
func (tm *Manager) WriteLockShadowed(b uint64, v block.Validator) (blk *block.Block, ok bool, err error) {
	if tm.readOnly {
		return nil, false, tm.refuse("write", b)
	}
	if _, exclusive := tm.shadows.state(b); !exclusive {
		return nil, false, nil
	}
	blk, err = tm.blocks.WriteLock(b, v)
	return blk, err == nil, err
}

// Hold takes the block manager's lock for a run of operations by this
// goroutine (see block.Manager.Hold); calls nest, and the lock is released
// by the outermost Release. Commits and other transaction managers over
// the same block manager must not be used while held.
func (tm *Manager) Hold() {
	if tm.depth == 0 {
		tm.held = tm.bm.Hold()
		tm.blocks = tm.held
	}
	tm.depth++
}

// Release ends a Hold.
func (tm *Manager) Release() {
	tm.depth--
	if tm.depth == 0 {
		tm.blocks = tm.bm
		tm.held.Release()
		tm.held = nil
	}
}

// ErrNotHeld is wrapped by Peek outside Hold and Release.
var ErrNotHeld = errors.New("block manager not held")

// Peek returns block b's data validated by v, only between Hold and
// Release: the data must not be modified and is valid until the next call
// into the Manager (see block.Held.Peek).
func (tm *Manager) Peek(b uint64, v block.Validator) ([]byte, error) {
	if tm.held == nil {
		return nil, fmt.Errorf("peek block %d: %w", b, ErrNotHeld)
	}
	return tm.held.Peek(b, v)
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
	return &Manager{bm: tm.bm, blocks: tm.bm, sm: tm.sm, readOnly: true}
}

// IsReadOnly reports whether this is a read-only clone.
func (tm *Manager) IsReadOnly() bool { return tm.readOnly }

func (tm *Manager) refuse(op string, b uint64) error {
	return fmt.Errorf("%s block %d: %w", op, b, ErrReadOnly)
}

// ReadLock returns block b locked for reading, validated by v.
func (tm *Manager) ReadLock(b uint64, v block.Validator) (*block.Block, error) {
	return tm.blocks.ReadLock(b, v)
}

// View runs fn on block b's data validated by v (see block.Manager.View).
func (tm *Manager) View(b uint64, v block.Validator, fn func(data []byte) error) error {
	return tm.blocks.View(b, v, fn)
}

// Unlock releases a block returned by ReadLock, NewBlock or Shadow.
func (tm *Manager) Unlock(b *block.Block) { tm.blocks.Unlock(b) }

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
	blk, err := tm.blocks.WriteLockZero(nr, v)
	if err != nil {
		return nil, err
	}
	tm.shadows.add(nr)
	return blk, nil
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
	isShadow, exclusive := tm.shadows.state(orig)
	if exclusive {
		blk, err := tm.blocks.WriteLock(orig, v)
		return blk, false, err
	}
	shared, err := tm.sm.CountIsMoreThanOne(orig)
	if err != nil {
		return nil, false, fmt.Errorf("shadow block %d: %w", orig, err)
	}
	if !shared && isShadow {
		blk, err := tm.blocks.WriteLock(orig, v)
		return blk, false, err
	}
	nr, err := tm.sm.NewBlock()
	if err != nil {
		return nil, false, fmt.Errorf("shadow block %d: allocate: %w", orig, err)
	}
	if err := tm.sm.Dec(orig); err != nil {
		return nil, false, fmt.Errorf("shadow block %d: %w", orig, err)
	}
	src, err := tm.blocks.ReadLock(orig, v)
	if err != nil {
		return nil, false, err
	}
	blk, err = tm.blocks.WriteLockZero(nr, v)
	if err != nil {
		tm.blocks.Unlock(src)
		return nil, false, err
	}
	copy(blk.Data(), src.Data())
	tm.blocks.Unlock(src)
	tm.shadows.add(nr)
	return blk, shared, nil
}

// Inc increments the reference count of block b. Metadata blocks must be
// incremented through the Manager (not the space map directly) so that a
// shared block is never written in place.
func (tm *Manager) Inc(b uint64) error {
	if tm.readOnly {
		return tm.refuse("inc", b)
	}
	tm.shadows.share(b)
	tm.epoch++
	return tm.sm.Inc(b)
}

// Dec decrements the reference count of block b.
func (tm *Manager) Dec(b uint64) error {
	if tm.readOnly {
		return tm.refuse("dec", b)
	}
	tm.epoch++
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
	if tm.depth > 0 {
		return errors.New("pre-commit while the block manager is held")
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
	if tm.depth > 0 {
		return errors.New("commit while the block manager is held")
	}
	if err := tm.bm.FlushExcept(sb.Nr()); err != nil {
		tm.bm.Unlock(sb)
		return err
	}
	tm.shadows.reset()
	tm.epoch++
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
	tm.shadows.reset()
	tm.epoch++
	tm.bm.DiscardDirty()
}

package spacemap

import (
	"errors"
	"fmt"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/pdata/transaction"
)

// maxPendingOps bounds the queue of operations deferred while the metadata
// space map is updating itself (MAX_RECURSIVE_ALLOCATIONS).
const maxPendingOps = 1024

type pendingOp struct {
	b   uint64
	inc bool
}

// Metadata is the metadata space map: reference counts of the metadata
// device's own blocks, stored in those blocks (the kernel's sm-metadata).
// Changing a count may shadow a bitmap or ref-count node, which allocates
// and frees blocks: while an operation is in progress (recursion > 0) such
// nested increments and decrements are queued and applied when the
// outermost operation ends. Blocks freed in this transaction are not reused
// before commit (they must be free in the previous transaction too).
//
// Concurrency: not safe for concurrent use; the transaction's writer owns it.
type Metadata struct {
	tm        *transaction.Manager
	ll        ll
	old       ll
	begin     uint64
	recursion int
	pending   []pendingOp
	bootstrap bool
	// bootstrapEnd bounds the linear bootstrap allocator.
	bootstrapEnd uint64
	allocated    uint64 // allocated this transaction
	threshold    threshold
	noSpace      func() // called when NewBlock finds no free block (see OnNoSpace)
}

// CreateMetadata formats a fresh metadata space map of nrBlocks blocks (capped
// at MetadataMaxBlocks) on bm, the kernel's dm_tm_create_with_sm: blocks
// [superblock+1, ...) are used for the index, ref-count tree and bitmaps,
// and block superblock itself gets count 1. It returns the transaction
// manager and the space map, committed (but the superblock is the caller's
// to write: copy Root into it, then tm.Commit).
func CreateMetadata(bm *block.Manager, superblock, nrBlocks uint64) (*transaction.Manager, *Metadata, error) {
	tm := transaction.New(bm)
	nrBlocks = min(nrBlocks, MetadataMaxBlocks, bm.NrBlocks())
	m := &Metadata{tm: tm, begin: superblock + 1, bootstrap: true, bootstrapEnd: nrBlocks}
	tm.SetSpaceMap(m)
	var err error
	if m.ll, err = newLL(tm, true); err != nil {
		return nil, nil, fmt.Errorf("create metadata space map: %w", err)
	}
	if err := m.ll.extend(nrBlocks); err != nil {
		return nil, nil, fmt.Errorf("create metadata space map: %w", err)
	}
	m.bootstrap = false
	for b := superblock; b < m.begin; b++ {
		m.pending = append(m.pending, pendingOp{b: b, inc: true})
	}
	m.recursion++
	err = m.applyPending()
	m.recursion--
	if err != nil {
		return nil, nil, fmt.Errorf("create metadata space map: %w", err)
	}
	m.old = m.ll.clone()
	if err := m.Commit(); err != nil {
		return nil, nil, fmt.Errorf("create metadata space map: %w", err)
	}
	return tm, m, nil
}

// OpenMetadata opens the metadata space map whose root (RootSize bytes or
// the whole 128-byte field) was saved in a superblock, the kernel's
// dm_tm_open_with_sm.
func OpenMetadata(bm *block.Manager, root []byte) (*transaction.Manager, *Metadata, error) {
	r, err := DecodeRoot(root)
	if err != nil {
		return nil, nil, fmt.Errorf("metadata %w", err)
	}
	if r.NrBlocks > bm.NrBlocks() {
		return nil, nil, fmt.Errorf("metadata space map: %d blocks but the device has %d", r.NrBlocks, bm.NrBlocks())
	}
	tm := transaction.New(bm)
	m := &Metadata{tm: tm}
	tm.SetSpaceMap(m)
	if m.ll, err = openLL(tm, true, r); err != nil {
		return nil, nil, err
	}
	m.old = m.ll.clone()
	return tm, m, nil
}

// TM returns the transaction manager the space map runs on.
func (m *Metadata) TM() *transaction.Manager { return m.tm }

func (m *Metadata) pendingAdjust(b uint64) int64 {
	var adj int64
	for _, op := range m.pending {
		if op.b == b {
			if op.inc {
				adj++
			} else {
				adj--
			}
		}
	}
	return adj
}

func (m *Metadata) queue(b uint64, inc bool) error {
	if len(m.pending) >= maxPendingOps {
		return fmt.Errorf("metadata space map: more than %d nested block operations", maxPendingOps)
	}
	m.pending = append(m.pending, pendingOp{b: b, inc: inc})
	return nil
}

// applyPending runs queued operations (recursion must be > 0 so that what
// they cause is queued in turn) until none is left.
func (m *Metadata) applyPending() error {
	for len(m.pending) > 0 {
		op := m.pending[0]
		m.pending = m.pending[1:]
		var err error
		if op.inc {
			_, err = m.ll.inc(op.b)
		} else {
			_, err = m.ll.dec(op.b)
		}
		if err != nil {
			return err
		}
	}
	m.pending = m.pending[:0]
	return nil
}

// do runs op as an outermost (or queued nested) operation.
func (m *Metadata) do(b uint64, inc bool) error {
	if m.bootstrap || m.recursion > 0 {
		return m.queue(b, inc)
	}
	m.tm.Hold()
	defer m.tm.Release()
	m.recursion++
	var err error
	if inc {
		_, err = m.ll.inc(b)
	} else {
		_, err = m.ll.dec(b)
	}
	if err == nil {
		err = m.applyPending()
	}
	m.recursion--
	return err
}

// NrBlocks returns the number of blocks tracked.
func (m *Metadata) NrBlocks() (uint64, error) { return m.ll.nrBlocks, nil }

// NrFree returns the free blocks: those free at the last commit minus those
// allocated since.
func (m *Metadata) NrFree() (uint64, error) {
	if m.bootstrap {
		return m.bootstrapEnd - m.begin, nil
	}
	used := m.old.nrAllocated + m.allocated
	if used > m.old.nrBlocks {
		return 0, nil
	}
	return m.old.nrBlocks - used, nil
}

// Count returns the reference count of b, including queued changes.
func (m *Metadata) Count(b uint64) (uint32, error) {
	if m.bootstrap {
		if b < m.begin {
			return 1, nil
		}
		return 0, nil
	}
	m.tm.Hold()
	defer m.tm.Release()
	c, err := m.ll.lookup(b)
	if err != nil {
		return 0, err
	}
	return uint32(int64(c) + m.pendingAdjust(b)), nil
}

// CountIsMoreThanOne reports whether b is shared.
func (m *Metadata) CountIsMoreThanOne(b uint64) (bool, error) {
	c, err := m.Count(b)
	return c > 1, err
}

// Inc increments the count of b. Outside this package, increment metadata
// blocks through transaction.Manager.Inc, which also tracks sharing.
func (m *Metadata) Inc(b uint64) error { return m.do(b, true) }

// Dec decrements the count of b.
func (m *Metadata) Dec(b uint64) error { return m.do(b, false) }

// NewBlock allocates a block free in this and the previous transaction,
// searching from one past the last allocation and wrapping once.
func (m *Metadata) NewBlock() (uint64, error) {
	if m.bootstrap {
		if m.begin >= m.bootstrapEnd {
			return 0, fmt.Errorf("metadata space map (bootstrap): %w", ErrNoSpace)
		}
		b := m.begin
		m.begin++
		return b, nil
	}
	m.tm.Hold()
	defer m.tm.Release()
	busy := func(b uint64) bool { return m.pendingAdjust(b) != 0 }
	b, err := m.ll.findCommonFree(&m.old, m.begin, busy)
	if err == ErrNoSpace {
		b, err = m.ll.findCommonFree(&m.old, 0, busy)
	}
	if err != nil {
		if errors.Is(err, ErrNoSpace) && m.noSpace != nil {
			m.noSpace()
		}
		return 0, fmt.Errorf("metadata space map (%d blocks): %w", m.ll.nrBlocks, err)
	}
	m.begin = b + 1
	if err := m.do(b, true); err != nil {
		return 0, err
	}
	m.allocated++
	m.threshold.check(m)
	return b, nil
}

// Commit writes the index back (shadowing the index block) and starts a
// new transaction generation.
func (m *Metadata) Commit() error {
	if m.bootstrap {
		return nil
	}
	if err := m.ll.commit(); err != nil {
		return err
	}
	if len(m.pending) > 0 {
		return fmt.Errorf("metadata space map: %d block operations left over at commit", len(m.pending))
	}
	m.old = m.ll.clone()
	m.allocated = 0
	return nil
}

// Extend grows the space map by extra blocks (the device has grown): new
// bitmaps are allocated from the new area, as the kernel's sm_metadata_extend.
func (m *Metadata) Extend(extra uint64) error {
	oldLen := m.ll.nrBlocks
	m.begin = oldLen
	m.bootstrap = true
	m.bootstrapEnd = oldLen + extra
	defer func() { m.bootstrap = false }()
	if err := m.ll.extend(extra); err != nil {
		return err
	}
	for {
		for b := oldLen; b < m.begin; b++ {
			if err := m.queue(b, true); err != nil {
				return err
			}
		}
		oldLen = m.begin
		m.recursion++
		err := m.applyPending()
		m.recursion--
		if err != nil {
			return err
		}
		if err := m.ll.commit(); err != nil {
			return err
		}
		if oldLen == m.begin && len(m.pending) == 0 {
			return nil
		}
	}
}

// Root returns the space map root to save in the superblock (valid after Commit).
func (m *Metadata) Root() Root { return m.ll.root() }

// CopyRoot encodes Root into dst (RootSize or RootFieldSize bytes).
func (m *Metadata) CopyRoot(dst []byte) { m.ll.root().Encode(dst) }

// OnNoSpace has fn called each time NewBlock fails for want of a free block
// (the kernel's space map logs "unable to allocate new metadata block"
// there). fn must not call the space map.
func (m *Metadata) OnNoSpace(fn func()) { m.noSpace = fn }

// SetThreshold registers fn to be called once each time the free count
// drops to threshold or below (edge-triggered, as the kernel's low-water
// callback).
func (m *Metadata) SetThreshold(nrFree uint64, fn func()) {
	m.threshold = threshold{value: nrFree, fn: fn, set: true}
}

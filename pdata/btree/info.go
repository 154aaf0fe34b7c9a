package btree

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gdmsetup/gdmsetup/pdata/transaction"
)

// ValueType describes the values stored in the last level's leaves
// (the kernel's dm_btree_value_type). Inc and Dec are called when a value
// gains or loses a referencing leaf (a shared leaf is copied, a value is
// overwritten or removed, a tree is deleted); nil means no reference
// counting. Equal, when set, lets an overwrite with an equal value skip Dec.
type ValueType struct {
	Size  int
	Inc   func(value []byte) error
	Dec   func(value []byte) error
	Equal func(a, b []byte) bool
}

// Info describes a (nested) btree (the kernel's dm_btree_info): Levels
// stacked single-level trees sharing one transaction manager; the leaves of
// every level but the last hold u64 roots of next-level trees.
type Info struct {
	TM     *transaction.Manager
	Levels int
	Value  ValueType
	// finger caches the leaf of the last insert (see finger.go); the zero
	// value is none, so an Info literal needs no set-up.
	finger finger
}

// ErrNotFound is returned (wrapped) when a key is absent.
var ErrNotFound = errors.New("key not found")

// SubtreeRootType returns the value type of upper-level leaves: a u64 block
// whose reference is counted through tm.
func SubtreeRootType(tm *transaction.Manager) ValueType {
	return ValueType{
		Size:  8,
		Inc:   func(v []byte) error { return tm.Inc(binary.LittleEndian.Uint64(v)) },
		Dec:   func(v []byte) error { return tm.Dec(binary.LittleEndian.Uint64(v)) },
		Equal: func(a, b []byte) bool { return binary.LittleEndian.Uint64(a) == binary.LittleEndian.Uint64(b) },
	}
}

func (info *Info) check(keys []uint64) error {
	if info.Levels < 1 {
		return fmt.Errorf("btree: %d levels", info.Levels)
	}
	if len(keys) != info.Levels {
		return fmt.Errorf("btree: %d keys for a %d-level tree", len(keys), info.Levels)
	}
	return nil
}

// levelSize returns the value size of leaves at level.
func (info *Info) levelSize(level int) int {
	if level == info.Levels-1 {
		return info.Value.Size
	}
	return 8
}

// checkValueSize reports a leaf of block b at level whose value size is not
// the level's (corrupt metadata: its values cannot be what the caller
// expects). Internal nodes' value size is checked by the validator.
func (info *Info) checkValueSize(b uint64, n Node, level int) error {
	if want := info.levelSize(level); n.IsLeaf() && n.ValueSize() != want {
		return fmt.Errorf("btree node %d: %w: leaf value_size %d, want %d", b, ErrCorrupt, n.ValueSize(), want)
	}
	return nil
}

// incChildren increments everything a node copied from a shared node points to.
func (info *Info) incChildren(n Node, level int) error {
	nr := n.NrEntries()
	if !n.IsLeaf() {
		for i := 0; i < nr; i++ {
			if err := info.TM.Inc(n.Value64(i)); err != nil {
				return err
			}
		}
		return nil
	}
	inc := info.Value.Inc
	if level < info.Levels-1 {
		inc = SubtreeRootType(info.TM).Inc
	}
	if inc == nil {
		return nil
	}
	for i := 0; i < nr; i++ {
		if err := inc(n.Value(i)); err != nil {
			return err
		}
	}
	return nil
}

// Empty creates an empty tree (one zero-entry leaf) and returns its root.
func (info *Info) Empty() (uint64, error) {
	return info.emptyLevel(0)
}

func (info *Info) emptyLevel(level int) (uint64, error) {
	blk, err := info.TM.NewBlock(Validator)
	if err != nil {
		return 0, err
	}
	Node(blk.Data()).Init(LeafNode, info.levelSize(level))
	nr := blk.Nr()
	info.TM.Unlock(blk)
	return nr, nil
}

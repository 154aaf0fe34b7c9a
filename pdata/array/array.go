// Package array implements the kernel's dm-array: a persistent array of
// fixed-size values kept in array blocks indexed by a single-level btree,
// copy-on-write through a transaction.Manager (dm-clone's, dm-cache's and
// dm-era's on-disk arrays).
package array

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/pdata/btree"
	"github.com/gdmsetup/gdmsetup/pdata/transaction"
)

// Array block layout (struct array_block).
const (
	HeaderSize = 24
	CsumSalt   = 595846735
)

// ErrNotFound is wrapped when an index is beyond the array.
var ErrNotFound = errors.New("array index out of range")

// Block is a view of an array block's bytes.
type Block []byte

// MaxEntries returns the capacity.
func (a Block) MaxEntries() int { return int(binary.LittleEndian.Uint32(a[4:])) }

// NrEntries returns the entries in use.
func (a Block) NrEntries() int { return int(binary.LittleEndian.Uint32(a[8:])) }

// ValueSize returns the size of one value.
func (a Block) ValueSize() int { return int(binary.LittleEndian.Uint32(a[12:])) }

func (a Block) setNrEntries(n int) { binary.LittleEndian.PutUint32(a[8:], uint32(n)) }

// Element returns value i (aliasing the block).
func (a Block) Element(i int) []byte {
	vs := a.ValueSize()
	return a[HeaderSize+vs*i : HeaderSize+vs*(i+1)]
}

type blockValidator struct{ block.SaltedValidator }

// Check verifies location, checksum and that the header fits the block.
func (v *blockValidator) Check(data []byte, blocknr uint64) error {
	if err := v.SaltedValidator.Check(data, blocknr); err != nil {
		return err
	}
	a := Block(data)
	vs, max, nr := a.ValueSize(), a.MaxEntries(), a.NrEntries()
	if vs == 0 || max == 0 || HeaderSize+vs*max > block.BlockSize || nr > max {
		return fmt.Errorf("bad array block header (value_size %d, max_entries %d, nr_entries %d)", vs, max, nr)
	}
	return nil
}

// Validator validates array blocks.
var Validator block.Validator = &blockValidator{block.SaltedValidator{Kind: "array block", Salt: CsumSalt, LocationOff: 16}}

// CalcMaxEntries returns how many values of valueSize fit in an array block.
func CalcMaxEntries(valueSize int) int { return (block.BlockSize - HeaderSize) / valueSize }

// Info describes an array (the kernel's dm_array_info): its element value
// type and the btree of array blocks.
type Info struct {
	Value btree.ValueType
	tree  btree.Info
	// repoint is tree without a dec on overwrite, to re-point an entry at
	// the shadow of its array block (the shadow already dropped the old one).
	repoint btree.Info
	max     int
}

// NewInfo returns the Info of arrays of vt values managed through tm.
func NewInfo(tm *transaction.Manager, vt btree.ValueType) *Info {
	info := &Info{Value: vt, max: CalcMaxEntries(vt.Size)}
	info.tree = btree.Info{TM: tm, Levels: 1, Value: btree.ValueType{
		Size: 8,
		Inc:  func(v []byte) error { return tm.Inc(binary.LittleEndian.Uint64(v)) },
		Dec:  info.decBlock,
	}}
	info.repoint = btree.Info{TM: tm, Levels: 1, Value: btree.ValueType{Size: 8, Inc: info.tree.Value.Inc}}
	return info
}

// MaxEntries returns the values per array block.
func (info *Info) MaxEntries() int { return info.max }

// decBlock drops a reference to an array block; dropping the last one
// drops the references its elements hold.
func (info *Info) decBlock(v []byte) error {
	b := binary.LittleEndian.Uint64(v)
	tm := info.tree.TM
	count, err := tm.Ref(b)
	if err != nil {
		return err
	}
	if count == 1 && info.Value.Dec != nil {
		blk, err := tm.ReadLock(b, Validator)
		if err != nil {
			return err
		}
		err = info.forEach(Block(blk.Data()), info.Value.Dec)
		tm.Unlock(blk)
		if err != nil {
			return err
		}
	}
	return tm.Dec(b)
}

func (info *Info) forEach(a Block, fn func([]byte) error) error {
	if fn == nil {
		return nil
	}
	for i := 0; i < a.NrEntries(); i++ {
		if err := fn(a.Element(i)); err != nil {
			return err
		}
	}
	return nil
}

// Empty creates an empty array and returns its root.
func (info *Info) Empty() (uint64, error) { return info.tree.Empty() }

// Del drops the array at root.
func (info *Info) Del(root uint64) error { return info.tree.Del(root) }

func (info *Info) lookupBlock(root uint64, blockIndex uint64) (uint64, error) {
	var v [8]byte
	if err := info.tree.Lookup(root, []uint64{blockIndex}, v[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(v[:]), nil
}

// Get copies element index into value.
func (info *Info) Get(root uint64, index uint64, value []byte) error {
	b, err := info.lookupBlock(root, index/uint64(info.max))
	if err != nil {
		return fmt.Errorf("array get %d: %w", index, errors.Join(ErrNotFound, err))
	}
	blk, err := info.tree.TM.ReadLock(b, Validator)
	if err != nil {
		return err
	}
	defer info.tree.TM.Unlock(blk)
	a := Block(blk.Data())
	entry := int(index % uint64(info.max))
	if entry >= a.NrEntries() || a.ValueSize() != info.Value.Size {
		return fmt.Errorf("array get %d: %w", index, ErrNotFound)
	}
	copy(value, a.Element(entry))
	return nil
}

// shadowBlock makes array block blockIndex writable, re-pointing the btree
// at the copy when shadowing moved it. It returns the block and new root.
func (info *Info) shadowBlock(root uint64, blockIndex uint64) (*block.Block, uint64, error) {
	b, err := info.lookupBlock(root, blockIndex)
	if err != nil {
		return nil, root, err
	}
	tm := info.tree.TM
	blk, inc, err := tm.Shadow(b, Validator)
	if err != nil {
		return nil, root, err
	}
	if inc {
		if err := info.forEach(Block(blk.Data()), info.Value.Inc); err != nil {
			tm.Unlock(blk)
			return nil, root, err
		}
	}
	if blk.Nr() != b {
		// Shadow already dropped b and the copy holds the elements'
		// references: only the btree entry changes. (The kernel bumps b
		// and overwrites through the counted type, whose dec then drops
		// the elements' references once too many when they are counted.)
		var v [8]byte
		binary.LittleEndian.PutUint64(v[:], blk.Nr())
		if root, err = info.repoint.Insert(root, []uint64{blockIndex}, v[:]); err != nil {
			tm.Unlock(blk)
			return nil, root, err
		}
	}
	return blk, root, nil
}

// Set stores value at index and returns the new root.
func (info *Info) Set(root uint64, index uint64, value []byte) (uint64, error) {
	blk, root, err := info.shadowBlock(root, index/uint64(info.max))
	if err != nil {
		return root, fmt.Errorf("array set %d: %w", index, err)
	}
	defer info.tree.TM.Unlock(blk)
	a := Block(blk.Data())
	entry := int(index % uint64(info.max))
	if entry >= a.NrEntries() {
		return root, fmt.Errorf("array set %d: %w", index, ErrNotFound)
	}
	old := a.Element(entry)
	vt := info.Value
	if vt.Dec != nil && (vt.Equal == nil || !vt.Equal(old, value)) {
		if err := vt.Dec(old); err != nil {
			return root, err
		}
		if vt.Inc != nil {
			if err := vt.Inc(value); err != nil {
				return root, err
			}
		}
	}
	copy(old, value)
	return root, nil
}

// fill appends copies of value to a up to newNr entries.
func (info *Info) fill(a Block, value []byte, newNr int) error {
	for i := a.NrEntries(); i < newNr; i++ {
		if info.Value.Inc != nil {
			if err := info.Value.Inc(value); err != nil {
				return err
			}
		}
		copy(a.Element(i), value)
	}
	a.setNrEntries(newNr)
	return nil
}

// trim drops entries past newNr, running Value.Dec on each. Their bytes
// stay in the block, as the kernel's trim_ablock leaves them.
func (info *Info) trim(a Block, newNr int) error {
	for i := newNr; i < a.NrEntries(); i++ {
		if info.Value.Dec != nil {
			if err := info.Value.Dec(a.Element(i)); err != nil {
				return err
			}
		}
	}
	a.setNrEntries(newNr)
	return nil
}

// insertNewBlock adds array block blockIndex holding nr copies of value.
func (info *Info) insertNewBlock(root, blockIndex uint64, nr int, value []byte) (uint64, error) {
	tm := info.tree.TM
	blk, err := tm.NewBlock(Validator)
	if err != nil {
		return root, err
	}
	a := Block(blk.Data())
	binary.LittleEndian.PutUint32(a[4:], uint32(info.max))
	binary.LittleEndian.PutUint32(a[12:], uint32(info.Value.Size))
	err = info.fill(a, value, nr)
	nrBlk := blk.Nr()
	tm.Unlock(blk)
	if err != nil {
		return root, err
	}
	var v [8]byte
	binary.LittleEndian.PutUint64(v[:], nrBlk)
	return info.tree.Insert(root, []uint64{blockIndex}, v[:])
}

func (info *Info) resizeTail(root, blockIndex uint64, nr int, value []byte) (uint64, error) {
	blk, root, err := info.shadowBlock(root, blockIndex)
	if err != nil {
		return root, err
	}
	a := Block(blk.Data())
	if nr >= a.NrEntries() {
		err = info.fill(a, value, nr)
	} else {
		err = info.trim(a, nr)
	}
	info.tree.TM.Unlock(blk)
	return root, err
}

// Resize changes the array at root from oldSize to newSize elements, new
// elements set to value, and returns the new root (the kernel's
// dm_array_resize: every block full except the last).
func (info *Info) Resize(root uint64, oldSize, newSize uint64, value []byte) (uint64, error) {
	if len(value) != info.Value.Size {
		return root, fmt.Errorf("array resize: value of %d bytes, want %d", len(value), info.Value.Size)
	}
	max := uint64(info.max)
	oldFull, oldTail := oldSize/max, int(oldSize%max)
	newFull, newTail := newSize/max, int(newSize%max)
	var err error
	switch {
	case newSize == oldSize:
		return root, nil
	case newSize < oldSize:
		if newFull < oldFull {
			begin := newFull
			if newTail > 0 {
				begin++
			}
			end := oldFull
			if oldTail > 0 {
				end++
			}
			for k := begin; k < end; k++ {
				if root, err = info.tree.Remove(root, []uint64{k}); err != nil {
					return root, err
				}
			}
		}
		if newTail > 0 {
			return info.resizeTail(root, newFull, newTail, value)
		}
		return root, nil
	case newFull > oldFull:
		first := oldFull
		if oldTail > 0 {
			if root, err = info.resizeTail(root, oldFull, info.max, value); err != nil {
				return root, err
			}
			first++
		}
		for k := first; k < newFull; k++ {
			if root, err = info.insertNewBlock(root, k, info.max, value); err != nil {
				return root, err
			}
		}
		if newTail > 0 {
			return info.insertNewBlock(root, newFull, newTail, value)
		}
		return root, nil
	case oldTail > 0:
		return info.resizeTail(root, oldFull, newTail, value)
	default:
		return info.insertNewBlock(root, newFull, newTail, value)
	}
}

// Walk calls fn for every element in index order.
func (info *Info) Walk(root uint64, fn func(index uint64, value []byte) error) error {
	tm := info.tree.TM
	return info.tree.Walk(root, func(keys []uint64, v []byte) error {
		blk, err := tm.ReadLock(binary.LittleEndian.Uint64(v), Validator)
		if err != nil {
			return err
		}
		defer tm.Unlock(blk)
		a := Block(blk.Data())
		if a.ValueSize() != info.Value.Size {
			return fmt.Errorf("array block %d: value_size %d, want %d", blk.Nr(), a.ValueSize(), info.Value.Size)
		}
		for i := 0; i < a.NrEntries(); i++ {
			if err := fn(keys[0]*uint64(info.max)+uint64(i), a.Element(i)); err != nil {
				return err
			}
		}
		return nil
	})
}

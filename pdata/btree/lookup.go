package btree

import (
	"fmt"
	"slices"
)

// Lookup finds keys (one per level) in the tree at root and copies the
// value into value (Value.Size bytes). A missing key returns ErrNotFound.
func (info *Info) Lookup(root uint64, keys []uint64, value []byte) error {
	if err := info.check(keys); err != nil {
		return err
	}
	info.TM.Hold()
	defer info.TM.Release()
	b := root
	level := 0
	for depth := 0; ; depth++ {
		if depth > maxDepth*info.Levels {
			return fmt.Errorf("btree node %d: %w: tree deeper than %d", b, ErrCorrupt, maxDepth)
		}
		data, err := info.TM.Peek(b, Validator)
		if err != nil {
			return err
		}
		n := Node(data)
		if err := info.checkValueSize(b, n, level); err != nil {
			return err
		}
		key := keys[level]
		i := n.LowerBound(key)
		switch {
		case !n.IsLeaf():
			if i < 0 {
				return notFound("lookup", keys)
			}
			b = n.Value64(i)
		case i < 0 || n.Key(i) != key:
			return notFound("lookup", keys)
		case level == info.Levels-1:
			copy(value, n.Value(i))
			return nil
		default:
			b = n.Value64(i)
			level++
		}
	}
}

// notFound returns ErrNotFound for keys (copied, so that they do not escape).
func notFound(op string, keys []uint64) error {
	return fmt.Errorf("%s %v: %w", op, slices.Clone(keys), ErrNotFound)
}

// maxDepth bounds a descent so that a cycle in corrupt metadata ends in an error.
const maxDepth = 64

// LookupNext finds the lowest key >= keys[last] in the last-level tree
// selected by the other keys (which must match exactly). It returns that
// key and copies its value into value.
func (info *Info) LookupNext(root uint64, keys []uint64, value []byte) (uint64, error) {
	if err := info.check(keys); err != nil {
		return 0, err
	}
	info.TM.Hold()
	defer info.TM.Release()
	for level := 0; level < info.Levels-1; level++ {
		var sub [8]byte
		sinfo := Info{TM: info.TM, Levels: 1, Value: ValueType{Size: 8}}
		if err := sinfo.Lookup(root, keys[level:level+1], sub[:]); err != nil {
			return 0, err
		}
		root = getU64(sub[:])
	}
	k, found, err := info.lookupNext(root, keys[info.Levels-1], value, 0)
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, notFound("lookup next", keys)
	}
	return k, nil
}

func (info *Info) lookupNext(b, key uint64, value []byte, depth int) (uint64, bool, error) {
	if depth > maxDepth {
		return 0, false, fmt.Errorf("btree node %d: %w: tree deeper than %d", b, ErrCorrupt, maxDepth)
	}
	blk, err := info.TM.ReadLock(b, Validator)
	if err != nil {
		return 0, false, err
	}
	defer info.TM.Unlock(blk)
	n := Node(blk.Data())
	if err := info.checkValueSize(b, n, info.Levels-1); err != nil {
		return 0, false, err
	}
	if n.IsLeaf() {
		i := n.UpperBound(key)
		if i >= n.NrEntries() {
			return 0, false, nil
		}
		copy(value, n.Value(i))
		return n.Key(i), true, nil
	}
	for i := max(n.LowerBound(key), 0); i < n.NrEntries(); i++ {
		k, found, err := info.lookupNext(n.Value64(i), key, value, depth+1)
		if err != nil || found {
			return k, found, err
		}
	}
	return 0, false, nil
}

package btree

import "fmt"

// WalkFunc receives the full key path (one key per level) and the value of
// each last-level entry, in key order. keys and value alias internal
// buffers valid only during the call; the nodes on the path are read-locked
// meanwhile, so fn must not modify the tree.
type WalkFunc func(keys []uint64, value []byte) error

// Walk calls fn for every entry of the tree at root, in key order.
func (info *Info) Walk(root uint64, fn WalkFunc) error {
	keys := make([]uint64, info.Levels)
	return info.walk(root, 0, 0, keys, fn)
}

func (info *Info) walk(b uint64, level, depth int, keys []uint64, fn WalkFunc) error {
	if depth > maxDepth*info.Levels {
		return fmt.Errorf("btree node %d: %w: tree deeper than %d", b, ErrCorrupt, maxDepth)
	}
	blk, err := info.TM.ReadLock(b, Validator)
	if err != nil {
		return err
	}
	defer info.TM.Unlock(blk)
	n := Node(blk.Data())
	if err := info.checkValueSize(b, n, level); err != nil {
		return err
	}
	for i := 0; i < n.NrEntries(); i++ {
		switch {
		case !n.IsLeaf():
			err = info.walk(n.Value64(i), level, depth+1, keys, fn)
		case level < info.Levels-1:
			keys[level] = n.Key(i)
			err = info.walk(n.Value64(i), level+1, depth+1, keys, fn)
		default:
			keys[level] = n.Key(i)
			err = fn(keys, n.Value(i))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// FindHighestKey returns the highest key of the last-level tree selected by
// keys[:Levels-1] (keys[Levels-1] is ignored); ErrNotFound if it is empty.
func (info *Info) FindHighestKey(root uint64, keys []uint64) (uint64, error) {
	return info.findExtreme(root, keys, true)
}

// FindLowestKey is FindHighestKey for the lowest key.
func (info *Info) FindLowestKey(root uint64, keys []uint64) (uint64, error) {
	return info.findExtreme(root, keys, false)
}

func (info *Info) findExtreme(root uint64, keys []uint64, highest bool) (uint64, error) {
	if err := info.check(keys); err != nil {
		return 0, err
	}
	info.TM.Hold()
	defer info.TM.Release()
	var sub [8]byte
	upper := Info{TM: info.TM, Levels: 1, Value: ValueType{Size: 8}}
	for level := 0; level < info.Levels-1; level++ {
		if err := upper.Lookup(root, keys[level:level+1], sub[:]); err != nil {
			return 0, err
		}
		root = getU64(sub[:])
	}
	b := root
	for depth := 0; depth <= maxDepth; depth++ {
		blk, err := info.TM.ReadLock(b, Validator)
		if err != nil {
			return 0, err
		}
		n := Node(blk.Data())
		nr := n.NrEntries()
		if nr == 0 {
			info.TM.Unlock(blk)
			return 0, fmt.Errorf("find key in tree %d: %w (empty)", root, ErrNotFound)
		}
		i := 0
		if highest {
			i = nr - 1
		}
		if n.IsLeaf() {
			k := n.Key(i)
			info.TM.Unlock(blk)
			return k, nil
		}
		b = n.Value64(i)
		info.TM.Unlock(blk)
	}
	return 0, fmt.Errorf("btree node %d: %w: tree deeper than %d", b, ErrCorrupt, maxDepth)
}

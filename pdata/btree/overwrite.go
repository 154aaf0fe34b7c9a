package btree

import "fmt"

// ShadowPath is the kernel's btree_get_overwrite_leaf: it shadows every
// node from the root of a single-level tree down to the leaf holding key
// (splitting and rebalancing nothing, unlike Insert and Remove) and returns
// the new root. The space maps reach an overflow count through it before
// they change or remove it, so the path is this transaction's before any
// sibling a removal rebalances.
func (info *Info) ShadowPath(root, key uint64) (uint64, error) {
	return info.overwrite(root, key, nil)
}

// Overwrite is ShadowPath followed by writing value over key's value in
// the leaf (no Value.Dec on the old one): the space maps' in-place change
// of an overflow count.
func (info *Info) Overwrite(root, key uint64, value []byte) (uint64, error) {
	if len(value) != info.Value.Size {
		return root, fmt.Errorf("btree overwrite: value of %d bytes, want %d", len(value), info.Value.Size)
	}
	return info.overwrite(root, key, value)
}

// overwrite descends to key's leaf shadowing the path; value, when not nil,
// replaces key's value there. The key must be in the tree.
func (info *Info) overwrite(root, key uint64, value []byte) (uint64, error) {
	if info.Levels != 1 {
		return root, fmt.Errorf("btree overwrite: a tree of %d levels, want 1", info.Levels)
	}
	info.TM.Hold()
	defer info.TM.Release()
	info.TM.Touch()
	s := spine{info: info}
	defer s.exit()
	b, i := root, -1
	for depth := 0; ; depth++ {
		if depth > maxDepth {
			return root, fmt.Errorf("btree node %d: %w: tree deeper than %d", b, ErrCorrupt, maxDepth)
		}
		if err := s.step(b, 0); err != nil {
			if s.count > 0 {
				return s.root, err
			}
			return root, err
		}
		if s.hasParent() {
			Node(s.parent().Data()).SetValue64(i, s.current().Nr())
		}
		n := Node(s.current().Data())
		i = n.LowerBound(key)
		if i < 0 || i >= n.NrEntries() {
			return s.root, notFound("overwrite", []uint64{key})
		}
		if n.IsLeaf() {
			if n.Key(i) != key {
				return s.root, notFound("overwrite", []uint64{key})
			}
			if value != nil {
				copy(n.Value(i), value)
			}
			return s.root, nil
		}
		b = n.Value64(i)
	}
}

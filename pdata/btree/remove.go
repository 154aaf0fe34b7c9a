package btree

import (
	"fmt"

	"github.com/gdmsetup/gdmsetup/pdata/block"
)

// mergeThreshold is the kernel's merge_threshold: a third of max_entries.
func mergeThreshold(n Node) int { return n.MaxEntries() / 3 }

// shiftEntries moves count entries between siblings: count > 0 moves the
// last count entries of left to the front of right, count < 0 moves the
// first -count entries of right to the end of left (the kernel's shift).
// The slots left behind keep their bytes, as in the kernel.
func shiftEntries(left, right Node, count int) error {
	nrLeft, nrRight := left.NrEntries(), right.NrEntries()
	if count == 0 {
		return nil
	}
	if nrLeft-count < 0 || nrRight+count < 0 || nrLeft-count > left.MaxEntries() || nrRight+count > right.MaxEntries() {
		return fmt.Errorf("btree: %w: shift of %d entries out of bounds (%d, %d)", ErrCorrupt, count, nrLeft, nrRight)
	}
	if count > 0 {
		right.shiftUp(count)
		copyEntries(right, 0, left, nrLeft-count, count)
	} else {
		copyEntries(left, nrLeft, right, 0, -count)
		right.shiftDown(-count)
	}
	left.SetNrEntries(nrLeft - count)
	right.SetNrEntries(nrRight + count)
	return nil
}

type child struct {
	index int
	blk   *block.Block
	n     Node
}

func (info *Info) initChild(parent Node, index int, level int) (child, error) {
	blk, err := info.shadowChild(parent, index, level)
	if err != nil {
		return child{}, err
	}
	return child{index: index, blk: blk, n: Node(blk.Data())}, nil
}

// rebalance2 merges two siblings or evens them out.
func (info *Info) rebalance2Nodes(parent Node, l, r *child) error {
	nrLeft, nrRight := l.n.NrEntries(), r.n.NrEntries()
	threshold := 2 * (mergeThreshold(l.n) + 1)
	if nrLeft+nrRight < threshold {
		copyEntries(l.n, nrLeft, r.n, 0, nrRight)
		l.n.SetNrEntries(nrLeft + nrRight)
		parent.deleteAt(r.index)
		// The right node's children now belong to left: drop only the node.
		return info.TM.Dec(r.blk.Nr())
	}
	targetLeft := (nrLeft + nrRight) / 2
	if err := shiftEntries(l.n, r.n, nrLeft-targetLeft); err != nil {
		return err
	}
	parent.SetKey(r.index, r.n.Key(0))
	return nil
}

func (info *Info) rebalance2(parent Node, leftIndex int, level int) error {
	l, err := info.initChild(parent, leftIndex, level)
	if err != nil {
		return err
	}
	defer info.TM.Unlock(l.blk)
	r, err := info.initChild(parent, leftIndex+1, level)
	if err != nil {
		return err
	}
	defer info.TM.Unlock(r.blk)
	return info.rebalance2Nodes(parent, &l, &r)
}

// deleteCenterNode empties the center of three siblings into its neighbours.
func (info *Info) deleteCenterNode(parent Node, l, c, r *child) error {
	nrLeft, nrCenter, nrRight := l.n.NrEntries(), c.n.NrEntries(), r.n.NrEntries()
	maxEntries := l.n.MaxEntries()
	shift := min(maxEntries-nrLeft, nrCenter)
	copyEntries(l.n, nrLeft, c.n, 0, shift)
	l.n.SetNrEntries(nrLeft + shift)
	if shift != nrCenter {
		rest := nrCenter - shift
		if nrRight+rest > maxEntries {
			return fmt.Errorf("btree: %w: node shift out of bounds", ErrCorrupt)
		}
		r.n.shiftUp(rest)
		copyEntries(r.n, 0, c.n, shift, rest)
		r.n.SetNrEntries(nrRight + rest)
	}
	parent.SetKey(r.index, r.n.Key(0))
	parent.deleteAt(c.index)
	r.index--
	if err := info.TM.Dec(c.blk.Nr()); err != nil {
		return err
	}
	return info.rebalance2Nodes(parent, l, r)
}

// redistribute3Remove evens out three siblings (the removal variant).
func redistribute3Remove(parent Node, l, c, r *child) error {
	nrLeft, nrCenter, nrRight := l.n.NrEntries(), c.n.NrEntries(), r.n.NrEntries()
	total := nrLeft + nrCenter + nrRight
	targetRight := total / 3
	remainder := 0
	if targetRight*3 != total {
		remainder = 1
	}
	targetLeft := targetRight + remainder
	if nrLeft < nrRight {
		s := nrLeft - targetLeft
		if s < 0 && nrCenter < -s {
			if err := shiftEntries(l.n, c.n, -nrCenter); err != nil {
				return err
			}
			s += nrCenter
			if err := shiftEntries(l.n, r.n, s); err != nil {
				return err
			}
			nrRight += s
		} else if err := shiftEntries(l.n, c.n, s); err != nil {
			return err
		}
		if err := shiftEntries(c.n, r.n, targetRight-nrRight); err != nil {
			return err
		}
	} else {
		s := targetRight - nrRight
		if s > 0 && nrCenter < s {
			if err := shiftEntries(c.n, r.n, nrCenter); err != nil {
				return err
			}
			s -= nrCenter
			if err := shiftEntries(l.n, r.n, s); err != nil {
				return err
			}
			nrLeft -= s
		} else if err := shiftEntries(c.n, r.n, s); err != nil {
			return err
		}
		if err := shiftEntries(l.n, c.n, nrLeft-targetLeft); err != nil {
			return err
		}
	}
	parent.SetKey(c.index, c.n.Key(0))
	parent.SetKey(r.index, r.n.Key(0))
	return nil
}

func (info *Info) rebalance3(parent Node, leftIndex int, level int) error {
	var cs [3]child
	for i := range cs {
		c, err := info.initChild(parent, leftIndex+i, level)
		if err != nil {
			for j := 0; j < i; j++ {
				info.TM.Unlock(cs[j].blk)
			}
			return err
		}
		cs[i] = c
	}
	defer func() {
		for i := range cs {
			info.TM.Unlock(cs[i].blk)
		}
	}()
	l, c, r := &cs[0], &cs[1], &cs[2]
	threshold := mergeThreshold(l.n)*4 + 1
	if l.n.NrEntries()+c.n.NrEntries()+r.n.NrEntries() < threshold {
		return info.deleteCenterNode(parent, l, c, r)
	}
	return redistribute3Remove(parent, l, c, r)
}

// rebalanceChildren prepares the current internal node's child holding key
// for a removal (the kernel's rebalance_children). A key below the node's
// first key is ErrNotFound.
func (info *Info) rebalanceChildren(s *spine, level int, key uint64) error {
	n := Node(s.current().Data())
	if n.NrEntries() == 1 {
		// Collapse a single-child internal node into its child.
		cb := n.Value64(0)
		blk, err := info.TM.ReadLock(cb, Validator)
		if err != nil {
			return err
		}
		err = info.checkValueSize(cb, Node(blk.Data()), level)
		shared := false
		if err == nil {
			shared, err = info.TM.IsShared(cb)
		}
		if err == nil {
			copy(n, blk.Data())
			if shared {
				err = info.incChildren(n, level)
			}
		}
		info.TM.Unlock(blk)
		if err != nil {
			return err
		}
		return info.TM.Dec(cb)
	}
	i := n.LowerBound(key)
	if i < 0 {
		return fmt.Errorf("remove %d: %w", key, ErrNotFound)
	}
	hasLeft := i > 0
	hasRight := i < n.NrEntries()-1
	switch {
	case !hasLeft:
		return info.rebalance2(n, i, level)
	case !hasRight:
		return info.rebalance2(n, i-1, level)
	default:
		return info.rebalance3(n, i-1, level)
	}
}

// removeRaw shadows the path to the leaf of a single-level tree where key
// belongs, rebalancing on the way, and returns LowerBound(key) in that leaf
// (the kernel's remove_raw and remove_nearest, which differ only in what
// their callers do with that index). A key below an internal node's first
// key is ErrNotFound.
func (info *Info) removeRaw(s *spine, root uint64, level int, key uint64, index int) (int, error) {
	i := index
	for depth := 0; ; depth++ {
		if depth > maxDepth {
			return 0, fmt.Errorf("btree node %d: %w: tree deeper than %d", root, ErrCorrupt, maxDepth)
		}
		if err := s.step(root, level); err != nil {
			return 0, err
		}
		if s.hasParent() {
			Node(s.parent().Data()).SetValue64(i, s.current().Nr())
		}
		n := Node(s.current().Data())
		if n.IsLeaf() {
			return n.LowerBound(key), nil
		}
		if err := info.rebalanceChildren(s, level, key); err != nil {
			return 0, err
		}
		n = Node(s.current().Data())
		if n.IsLeaf() {
			return n.LowerBound(key), nil
		}
		i = n.LowerBound(key)
		root = n.Value64(i)
	}
}

// Remove deletes keys from the tree at root, running Value.Dec on the
// removed value, and returns the new root. Emptied lower-level trees stay
// (as the kernel). A missing key returns ErrNotFound; the tree may then
// have been reshaped (shadowed) but holds the same entries, and the
// returned root is still valid.
func (info *Info) Remove(root uint64, keys []uint64) (uint64, error) {
	if err := info.check(keys); err != nil {
		return root, err
	}
	info.TM.Hold()
	defer info.TM.Release()
	info.TM.Touch()
	s := spine{info: info}
	defer s.exit()
	index := 0
	for level := 0; level < info.Levels; level++ {
		i, err := info.removeRaw(&s, root, level, keys[level], index)
		if err != nil {
			if s.count > 0 {
				return s.root, err
			}
			return root, err
		}
		n := Node(s.current().Data())
		if i < 0 || i >= n.NrEntries() || n.Key(i) != keys[level] {
			return s.root, notFound("remove", keys)
		}
		index = i
		if level < info.Levels-1 {
			root = n.Value64(i)
			continue
		}
		if dec := info.Value.Dec; dec != nil {
			if err := dec(n.Value(i)); err != nil {
				return s.root, err
			}
		}
		n.deleteAt(i)
	}
	return s.root, nil
}

// RemoveRange deletes every key in [first, end) of the last-level tree
// selected by keys[:Levels-1] (keys[Levels-1] is ignored), running
// Value.Dec on each, and returns the new root and how many were removed.
// It descends as the kernel's thin __remove_range loop does: the next
// mapped key from dm_btree_lookup_next, then dm_btree_remove_leaves from
// there, one rebalancing descent per key, until a descent finds no key to
// remove in its leaf (each descent reshapes the tree, so the count of
// descents is part of the on-disk result).
func (info *Info) RemoveRange(root uint64, keys []uint64, first, end uint64) (uint64, uint64, error) {
	if err := info.check(keys); err != nil {
		return root, 0, err
	}
	info.TM.Hold()
	defer info.TM.Release()
	info.TM.Touch()
	path := append([]uint64(nil), keys...)
	scratch := make([]byte, info.Value.Size)
	var removed uint64
	for first < end {
		path[info.Levels-1] = first
		k, err := info.LookupNext(root, path, scratch)
		if isNotFound(err) || (err == nil && k >= end) {
			break
		}
		if err != nil {
			return root, removed, err
		}
		first = k
		n, next, err := info.removeLeaves(root, path, first, end)
		root, removed = n, removed+next.removed
		if err != nil {
			return root, removed, err
		}
		if next.removed == 0 {
			return root, removed, fmt.Errorf("btree: %w: key %d found by lookup but not by removal", ErrCorrupt, k)
		}
		if !next.more {
			break
		}
		first = next.key
	}
	return root, removed, nil
}

// leavesRemoved is what removeLeaves did: how many keys it removed and
// the key the next removal would start from (more: not past the key space).
type leavesRemoved struct {
	removed uint64
	key     uint64
	more    bool
}

// removeLeaves is dm_btree_remove_leaves: removeOne from first, then from
// the removed key + 1, until a descent removes nothing.
func (info *Info) removeLeaves(root uint64, path []uint64, first, end uint64) (uint64, leavesRemoved, error) {
	res := leavesRemoved{key: first, more: true}
	for {
		path[info.Levels-1] = res.key
		newRoot, k, found, err := info.removeOne(root, path, end)
		root = newRoot
		if err != nil || !found {
			return root, res, err
		}
		res.removed++
		if k == ^uint64(0) {
			res.more = false
			return root, res, nil
		}
		res.key = k + 1
	}
}

// removeOne is the kernel's remove_one: descend (rebalancing) to the leaf
// where keys[last] belongs and remove the entry at the lower bound of
// keys[last] there (the first entry when none is lower) if its key is in
// [keys[last], end). found is false when that entry is not, or when the
// key is below an internal node's first key on the way.
func (info *Info) removeOne(root uint64, keys []uint64, end uint64) (newRoot, key uint64, found bool, err error) {
	s := spine{info: info}
	defer s.exit()
	index := 0
	last := info.Levels - 1
	for level := 0; level < info.Levels; level++ {
		i, err := info.removeRaw(&s, root, level, keys[level], index)
		if err != nil {
			if s.count > 0 {
				root = s.root
			}
			if level == last && isNotFound(err) {
				return root, 0, false, nil
			}
			return root, 0, false, err
		}
		n := Node(s.current().Data())
		if level < last {
			if i < 0 || i >= n.NrEntries() || n.Key(i) != keys[level] {
				return s.root, 0, false, notFound("remove range", keys[:level+1])
			}
			index = i
			root = n.Value64(i)
			continue
		}
		i = max(i, 0)
		if i >= n.NrEntries() || n.Key(i) < keys[level] || n.Key(i) >= end {
			return s.root, 0, false, nil
		}
		key = n.Key(i)
		if dec := info.Value.Dec; dec != nil {
			if err := dec(n.Value(i)); err != nil {
				return s.root, 0, false, err
			}
		}
		n.deleteAt(i)
	}
	return s.root, key, true, nil
}

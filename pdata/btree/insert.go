package btree

import (
	"fmt"

	"github.com/gdmsetup/gdmsetup/pdata/block"
)

// spaceThreshold is the free space a sibling needs before entries are moved
// into it rather than splitting (SPACE_THRESHOLD).
const spaceThreshold = 8

// Insert sets keys to value in the tree at root and returns the new root.
// Missing intermediate levels are created empty. Overwriting a value runs
// Value.Dec on the old one unless Value.Equal says they are equal.
func (info *Info) Insert(root uint64, keys []uint64, value []byte) (uint64, error) {
	newRoot, _, err := info.InsertNotify(root, keys, value)
	return newRoot, err
}

// InsertNotify is Insert that also reports whether the key was new.
func (info *Info) InsertNotify(root uint64, keys []uint64, value []byte) (newRoot uint64, inserted bool, err error) {
	if err := info.check(keys); err != nil {
		return root, false, err
	}
	if len(value) != info.Value.Size {
		return root, false, fmt.Errorf("btree insert: value of %d bytes, want %d", len(value), info.Value.Size)
	}
	info.TM.Hold()
	defer info.TM.Release()
	key := keys[info.Levels-1]
	leaf, err := info.fingerLeaf(root, keys)
	if err != nil {
		return root, false, err
	}
	if leaf != nil {
		inserted, err = info.setValue(Node(leaf.Data()), key, value)
		info.TM.Unlock(leaf)
		return root, inserted, err
	}
	info.TM.Touch()
	s := spine{info: info}
	defer s.exit()
	var r pathRange
	index := -1
	b := root
	var sub [8]byte
	for level := 0; level < info.Levels-1; level++ {
		if index, err = info.insertRaw(&s, &r, b, level, keys[level], index); err != nil {
			return root, false, err
		}
		n := Node(s.current().Data())
		if index >= n.NrEntries() || n.Key(index) != keys[level] {
			newTree, err := info.emptyLevel(level + 1)
			if err != nil {
				return root, false, err
			}
			putU64(sub[:], newTree)
			n.insertAt(index, keys[level], sub[:])
		}
		b = n.Value64(index)
	}
	r.lo, r.hi, r.hasHi = 0, 0, false
	if _, err = info.insertRaw(&s, &r, b, info.Levels-1, key, index); err != nil {
		return root, false, err
	}
	// Recorded before setValue: a callback that reshapes trees moves the
	// epoch past the finger.
	info.record(s.root, keys, s.current().Nr(), &r)
	if inserted, err = info.setValue(Node(s.current().Data()), key, value); err != nil {
		return root, false, err
	}
	return s.root, inserted, nil
}

// setValue stores key's value in leaf n, which has room for it: a new
// entry, or an overwrite that runs Value.Dec on the old value unless
// Value.Equal says they are equal.
func (info *Info) setValue(n Node, key uint64, value []byte) (inserted bool, err error) {
	i := n.LowerBound(key)
	if i < 0 || n.Key(i) != key {
		n.insertAt(i+1, key, value)
		return true, nil
	}
	old := n.Value(i)
	if vt := info.Value; vt.Dec != nil && (vt.Equal == nil || !vt.Equal(old, value)) {
		if err := vt.Dec(old); err != nil {
			return false, err
		}
	}
	copy(old, value)
	return false, nil
}

// hasSpaceForInsert reports whether key can go into n without a split.
func hasSpaceForInsert(n Node, key uint64) bool {
	if n.NrEntries() < n.MaxEntries() {
		return true
	}
	if !n.IsLeaf() {
		return false
	}
	i := n.LowerBound(key)
	return i >= 0 && n.Key(i) == key
}

// insertRaw shadows the path to the leaf where key belongs in the
// single-level tree at root (nesting level level), splitting full nodes on the way, and returns the
// index in that leaf where key is or would go. index is the position of root
// in the spine's current node (the upper level's leaf), or -1. r follows the
// key range of the internal nodes passed and notes any split.
func (info *Info) insertRaw(s *spine, r *pathRange, root uint64, level int, key uint64, index int) (int, error) {
	i := index
	top := true
	var n Node
	for depth := 0; ; depth++ {
		if depth > maxDepth {
			return 0, fmt.Errorf("btree node %d: %w: tree deeper than %d", root, ErrCorrupt, maxDepth)
		}
		if err := s.step(root, level); err != nil {
			return 0, err
		}
		if s.hasParent() && i >= 0 {
			Node(s.parent().Data()).SetValue64(i, s.current().Nr())
		}
		n = Node(s.current().Data())
		if !hasSpaceForInsert(n, key) {
			// A split or rebalance moves keys between the node, its
			// siblings and the parent: the range r has is stale.
			r.split = true
			var err error
			if top {
				err = info.splitBeneath(s)
			} else {
				err = info.rebalanceOrSplit(s, level, i, key)
			}
			if err != nil {
				return 0, err
			}
			n = Node(s.current().Data())
		}
		i = n.LowerBound(key)
		if n.IsLeaf() {
			break
		}
		if i < 0 {
			n.SetKey(0, key)
			i = 0
		}
		r.enter(n, i)
		root = n.Value64(i)
		top = false
	}
	if i < 0 || n.Key(i) != key {
		i++
	}
	return i, nil
}

func (info *Info) newNode() (*block.Block, error) {
	return info.TM.NewBlock(Validator)
}

// initSibling gives dst the header of src with no entries.
func initSibling(dst, src Node) {
	dst.SetFlags(src.Flags())
	dst.SetNrEntries(0)
	dst.SetMaxEntries(src.MaxEntries())
	dst.SetValueSize(src.ValueSize())
}

// splitBeneath moves the entries of the (full) current node, a tree root,
// into two new children and makes it an internal node pointing at them.
// Only the root's header and first two entries are rewritten: the rest of
// the block keeps its old keys and values, as the kernel's
// btree_split_beneath leaves them.
func (info *Info) splitBeneath(s *spine) error {
	pn := Node(s.current().Data())
	nr := pn.NrEntries()
	nrLeft := nr / 2
	left, err := info.newNode()
	if err != nil {
		return err
	}
	right, err := info.newNode()
	if err != nil {
		info.TM.Unlock(left)
		return err
	}
	ln, rn := Node(left.Data()), Node(right.Data())
	initSibling(ln, pn)
	initSibling(rn, pn)
	copyEntries(ln, 0, pn, 0, nrLeft)
	ln.SetNrEntries(nrLeft)
	copyEntries(rn, 0, pn, nrLeft, nr-nrLeft)
	rn.SetNrEntries(nr - nrLeft)

	pn.SetFlags(InternalNode)
	pn.SetNrEntries(2)
	pn.SetMaxEntries(int(CalcMaxEntries(8)))
	pn.SetValueSize(8)
	pn.SetKey(0, ln.Key(0))
	pn.SetValue64(0, left.Nr())
	pn.SetKey(1, rn.Key(0))
	pn.SetValue64(1, right.Nr())
	info.TM.Unlock(left)
	info.TM.Unlock(right)
	return nil
}

// redistribute2 evens out the entries of two siblings. Slots that entries
// leave keep their bytes (the kernel's redistribute2 does not clear them).
func redistribute2(left, right Node) {
	nrLeft, nrRight := left.NrEntries(), right.NrEntries()
	total := nrLeft + nrRight
	targetLeft := total / 2
	targetRight := total - targetLeft
	if nrLeft < targetLeft {
		delta := targetLeft - nrLeft
		copyEntries(left, nrLeft, right, 0, delta)
		right.shiftDown(delta)
	} else if nrLeft > targetLeft {
		delta := nrLeft - targetLeft
		if nrRight > 0 {
			right.shiftUp(delta)
		}
		copyEntries(right, 0, left, targetLeft, delta)
	}
	left.SetNrEntries(targetLeft)
	right.SetNrEntries(targetRight)
}

// redistribute3 spreads the entries of left and right over left, an empty
// center and right, leaving the bytes of vacated slots as they were.
func redistribute3(left, center, right Node) {
	nrLeft, nrRight := left.NrEntries(), right.NrEntries()
	total := nrLeft + nrRight
	targetLeft := total / 3
	targetCenter := (total - targetLeft) / 2
	targetRight := total - targetLeft - targetCenter
	switch {
	case nrLeft < targetLeft:
		leftShort := targetLeft - nrLeft
		copyEntries(left, nrLeft, right, 0, leftShort)
		copyEntries(center, 0, right, leftShort, targetCenter)
		right.shiftDown(nrRight - targetRight)
	case nrLeft < targetLeft+targetCenter:
		leftToCenter := nrLeft - targetLeft
		copyEntries(center, 0, left, targetLeft, leftToCenter)
		copyEntries(center, leftToCenter, right, 0, targetCenter-leftToCenter)
		right.shiftDown(nrRight - targetRight)
	default:
		rightShort := targetRight - nrRight
		right.shiftUp(rightShort)
		copyEntries(right, 0, left, nrLeft-rightShort, rightShort)
		copyEntries(center, 0, left, targetLeft, nrLeft-targetLeft)
	}
	left.SetNrEntries(targetLeft)
	center.SetNrEntries(targetCenter)
	right.SetNrEntries(targetRight)
}

// freeSpace returns max_entries - nr_entries of node b.
func (info *Info) freeSpace(b uint64) (int, error) {
	blk, err := info.TM.ReadLock(b, Validator)
	if err != nil {
		return 0, err
	}
	n := Node(blk.Data())
	free := n.MaxEntries() - n.NrEntries()
	info.TM.Unlock(blk)
	return free, nil
}

// rebalanceOrSplit makes room in the full current node, child parentIndex
// of the spine's parent: move entries into an unshared sibling with room,
// else split one node into two or two into three, as the kernel does.
func (info *Info) rebalanceOrSplit(s *spine, level int, parentIndex int, key uint64) error {
	parent := Node(s.parent().Data())
	nrParent := parent.NrEntries()
	leftShared, rightShared := false, false
	if parentIndex > 0 {
		lb := parent.Value64(parentIndex - 1)
		shared, err := info.TM.IsShared(lb)
		if err != nil {
			return err
		}
		leftShared = shared
		if !shared {
			free, err := info.freeSpace(lb)
			if err != nil {
				return err
			}
			if free >= spaceThreshold {
				return info.rebalanceSibling(s, level, parentIndex, key, true)
			}
		}
	}
	if parentIndex < nrParent-1 {
		rb := parent.Value64(parentIndex + 1)
		shared, err := info.TM.IsShared(rb)
		if err != nil {
			return err
		}
		rightShared = shared
		if !shared {
			free, err := info.freeSpace(rb)
			if err != nil {
				return err
			}
			if free >= spaceThreshold {
				return info.rebalanceSibling(s, level, parentIndex, key, false)
			}
		}
	}
	if leftShared || rightShared || nrParent <= 2 || parentIndex == 0 || parentIndex+1 == nrParent {
		return info.splitOneIntoTwo(s, parentIndex, key)
	}
	return info.splitTwoIntoThree(s, level, parentIndex, key)
}

// rebalanceSibling moves entries between the current node and its left (or
// right) sibling and leaves the node that should receive key as current.
func (info *Info) rebalanceSibling(s *spine, level int, parentIndex int, key uint64, toLeft bool) error {
	parent := Node(s.parent().Data())
	sibIndex := parentIndex + 1
	if toLeft {
		sibIndex = parentIndex - 1
	}
	sib, err := info.shadowChild(parent, sibIndex, level)
	if err != nil {
		return err
	}
	cur := s.current()
	left, right := sib, cur
	rightIndex := parentIndex
	if !toLeft {
		left, right = cur, sib
		rightIndex = parentIndex + 1
	}
	rn := Node(right.Data())
	redistribute2(Node(left.Data()), rn)
	parent.SetKey(rightIndex, rn.Key(0))
	keep := right
	if key < rn.Key(0) {
		keep = left
	}
	if keep == cur {
		info.TM.Unlock(sib)
	} else {
		info.TM.Unlock(cur)
		s.nodes[1] = sib
	}
	return nil
}

func (info *Info) splitOneIntoTwo(s *spine, parentIndex int, key uint64) error {
	left := s.current()
	right, err := info.newNode()
	if err != nil {
		return err
	}
	ln, rn := Node(left.Data()), Node(right.Data())
	initSibling(rn, ln)
	redistribute2(ln, rn)
	var loc [8]byte
	putU64(loc[:], right.Nr())
	Node(s.parent().Data()).insertAt(parentIndex+1, rn.Key(0), loc[:])
	if key < rn.Key(0) {
		info.TM.Unlock(right)
	} else {
		info.TM.Unlock(left)
		s.nodes[1] = right
	}
	return nil
}

func (info *Info) splitTwoIntoThree(s *spine, level int, parentIndex int, key uint64) error {
	pn := Node(s.parent().Data())
	// parentIndex > 0 here (rebalanceOrSplit splits the first child in two).
	middleIndex := parentIndex
	right := s.current()
	left, err := info.shadowChild(pn, parentIndex-1, level)
	if err != nil {
		return err
	}
	middle, err := info.newNode()
	if err != nil {
		info.TM.Unlock(left)
		return err
	}
	ln, mn, rn := Node(left.Data()), Node(middle.Data()), Node(right.Data())
	initSibling(mn, ln)
	redistribute3(ln, mn, rn)
	pn.SetKey(middleIndex, rn.Key(0))
	var loc [8]byte
	putU64(loc[:], middle.Nr())
	pn.insertAt(middleIndex, mn.Key(0), loc[:])
	keep := right
	switch {
	case key < mn.Key(0):
		keep = left
	case key < rn.Key(0):
		keep = middle
	}
	for _, b := range []*block.Block{left, middle, right} {
		if b != keep {
			info.TM.Unlock(b)
		}
	}
	s.nodes[1] = keep
	return nil
}

package metadata

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// valueType describes the values stored in a btree's leaves: their size and the
// reference counting they carry (nil inc/dec: plain values).
type valueType struct {
	size int
	inc  func(v []byte) error
	dec  func(v []byte) error
	// equal reports whether overwriting a with b keeps the same referenced object
	// (then no dec is done). nil: byte equality.
	equal func(a, b []byte) bool
}

func (vt *valueType) same(a, b []byte) bool {
	if vt.equal != nil {
		return vt.equal(a, b)
	}
	return bytes.Equal(a, b)
}

// readNode reads and validates a btree node for a tree whose leaves hold vt values.
func (t *txManager) readNode(nr uint64, vt *valueType) (node, error) {
	b, err := t.cache.read(nr, saltNode, "btree node")
	if err != nil {
		return nil, err
	}
	n := node(b.data)
	if !b.checked {
		if err := checkNode(n, nr, vt.size); err != nil {
			return nil, err
		}
		b.checked = true
	}
	return n, nil
}

// shadowNode shadows a node and, when it was shared, adds references to its children.
func (t *txManager) shadowNode(nr uint64, vt *valueType) (uint64, node, error) {
	if _, err := t.readNode(nr, vt); err != nil {
		return 0, nil, err
	}
	newNr, b, shared, err := t.shadow(nr, saltNode, "btree node")
	if err != nil {
		return 0, nil, err
	}
	n := node(b.data)
	if shared {
		if err := t.incChildren(n, vt); err != nil {
			return 0, nil, err
		}
	}
	return newNr, n, nil
}

func (t *txManager) incChildren(n node, vt *valueType) error {
	for i := 0; i < n.nr(); i++ {
		var err error
		if !n.isLeaf() {
			err = t.msm.inc(n.valueU64(i))
		} else if vt.inc != nil {
			err = vt.inc(n.value(i))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// emptyTree creates an empty tree (one leaf with no entries) and returns its root.
func (t *txManager) emptyTree(vt *valueType) (uint64, error) {
	nr, b, err := t.newBlock(saltNode)
	if err != nil {
		return 0, err
	}
	initNode(b.data, true, vt.size)
	return nr, nil
}

// lookup returns the value stored under key (a slice into the cached node: copy it
// before the next tree operation).
func (t *txManager) lookup(root, key uint64, vt *valueType) ([]byte, bool, error) {
	nr := root
	for depth := 0; ; depth++ {
		if depth > maxDepth {
			return nil, false, &BlockError{Block: nr, What: "btree node", Msg: "tree too deep (cycle?)"}
		}
		n, err := t.readNode(nr, vt)
		if err != nil {
			return nil, false, err
		}
		i := n.lowerBound(key)
		if i < 0 {
			return nil, false, nil
		}
		if n.isLeaf() {
			if n.key(i) != key {
				return nil, false, nil
			}
			return n.value(i), true, nil
		}
		nr = n.valueU64(i)
	}
}

// maxDepth bounds tree walks so corrupt metadata with cycles cannot loop forever.
const maxDepth = 32

// insert stores value under key and returns the new root. When the key exists its old
// value gets vt.dec (if decOld and it refers to something else); the new value's
// reference is handed over by the caller. added reports a new key.
func (t *txManager) insert(root, key uint64, value []byte, vt *valueType, decOld bool) (newRoot uint64, added bool, err error) {
	rootNr, n, err := t.shadowNode(root, vt)
	if err != nil {
		return 0, false, err
	}
	if n.nr() == n.max() {
		if err := t.splitBeneath(n); err != nil {
			return 0, false, err
		}
	}
	for depth := 0; ; depth++ {
		if depth > maxDepth {
			return 0, false, fmt.Errorf("btree insert: tree too deep")
		}
		i := n.lowerBound(key)
		if n.isLeaf() {
			if i >= 0 && n.key(i) == key {
				old := n.value(i)
				if decOld && vt.dec != nil && !vt.same(old, value) {
					if err := vt.dec(old); err != nil {
						return 0, false, err
					}
				}
				copy(old, value)
				return rootNr, false, nil
			}
			n.insertAt(i+1, key, value)
			return rootNr, true, nil
		}
		if i < 0 {
			i = 0
			n.setKey(0, key)
		}
		childNr, child, err := t.shadowNode(n.valueU64(i), vt)
		if err != nil {
			return 0, false, err
		}
		n.setValueU64(i, childNr)
		if child.nr() == child.max() {
			rightNr, right, err := t.splitOff(child)
			if err != nil {
				return 0, false, err
			}
			var v [8]byte
			binary.LittleEndian.PutUint64(v[:], rightNr)
			n.insertAt(i+1, right.key(0), v[:])
			if key >= right.key(0) {
				child = right
			}
		}
		n = child
	}
}

// splitOff moves the upper half of a full node into a new sibling.
func (t *txManager) splitOff(n node) (uint64, node, error) {
	nr, b, err := t.newBlock(saltNode)
	if err != nil {
		return 0, nil, err
	}
	right := node(b.data)
	copy(right[:nodeHeaderSize], n[:nodeHeaderSize])
	right.setNr(0)
	half := n.nr() / 2
	moveEntries(right, 0, n, half, n.nr()-half)
	right.setNr(n.nr() - half)
	n.truncate(half)
	return nr, right, nil
}

// splitBeneath moves a full root's entries into two new children; the root becomes
// an internal node pointing at them (it keeps its block).
func (t *txManager) splitBeneath(root node) error {
	leftNr, lb, err := t.newBlock(saltNode)
	if err != nil {
		return err
	}
	left := node(lb.data)
	copy(left, root)
	rightNr, right, err := t.splitOff(left)
	if err != nil {
		return err
	}
	initNode(root, false, 8)
	var v [8]byte
	binary.LittleEndian.PutUint64(v[:], leftNr)
	root.insertAt(0, left.key(0), v[:])
	binary.LittleEndian.PutUint64(v[:], rightNr)
	root.insertAt(1, right.key(0), v[:])
	return nil
}

// remove deletes key (running vt.dec on its value) and returns the new root.
func (t *txManager) remove(root, key uint64, vt *valueType) (uint64, bool, error) {
	if _, found, err := t.lookup(root, key, vt); err != nil || !found {
		return root, false, err
	}
	newRoot, err := t.removeFrom(root, key, vt, 0)
	if err != nil {
		return 0, false, err
	}
	for {
		n, err := t.readNode(newRoot, vt)
		if err != nil {
			return 0, false, err
		}
		if n.isLeaf() || n.nr() != 1 {
			return newRoot, true, nil
		}
		child := n.valueU64(0)
		if err := t.dec(newRoot); err != nil {
			return 0, false, err
		}
		newRoot = child
	}
}

func (t *txManager) removeFrom(nr, key uint64, vt *valueType, depth int) (uint64, error) {
	if depth > maxDepth {
		return 0, fmt.Errorf("btree remove: tree too deep")
	}
	newNr, n, err := t.shadowNode(nr, vt)
	if err != nil {
		return 0, err
	}
	i := n.lowerBound(key)
	if i < 0 {
		return 0, &BlockError{Block: newNr, What: "btree node", Msg: fmt.Sprintf("key %d below the node's first key", key)}
	}
	if n.isLeaf() {
		if vt.dec != nil {
			if err := vt.dec(n.value(i)); err != nil {
				return 0, err
			}
		}
		n.deleteAt(i)
		return newNr, nil
	}
	childNr, err := t.removeFrom(n.valueU64(i), key, vt, depth+1)
	if err != nil {
		return 0, err
	}
	n.setValueU64(i, childNr)
	child, err := t.readNode(childNr, vt)
	if err != nil {
		return 0, err
	}
	if child.nr() < child.max()/3 && n.nr() > 1 {
		if err := t.rebalance(n, i, vt); err != nil {
			return 0, err
		}
	}
	return newNr, nil
}

// rebalance fixes an underfull child i of internal node parent by merging it with a
// neighbour or sharing entries with it.
func (t *txManager) rebalance(parent node, i int, vt *valueType) error {
	l := i
	if i+1 >= parent.nr() {
		l = i - 1
	}
	r := l + 1
	lNr, left, err := t.shadowNode(parent.valueU64(l), vt)
	if err != nil {
		return err
	}
	parent.setValueU64(l, lNr)
	rNr, right, err := t.shadowNode(parent.valueU64(r), vt)
	if err != nil {
		return err
	}
	parent.setValueU64(r, rNr)
	total := left.nr() + right.nr()
	if total <= left.max() {
		moveEntries(left, left.nr(), right, 0, right.nr())
		left.setNr(total)
		parent.deleteAt(r)
		return t.dec(rNr)
	}
	target := total / 2
	if left.nr() < target {
		k := target - left.nr()
		moveEntries(left, left.nr(), right, 0, k)
		left.setNr(target)
		right.shiftDown(k)
	} else {
		k := left.nr() - target
		right.shiftUp(k)
		moveEntries(right, 0, left, target, k)
		left.truncate(target)
	}
	parent.setKey(r, right.key(0))
	return nil
}

// del drops the tree's reference to root: shared nodes just lose one reference,
// unshared ones release their children (vt.dec for leaf values) and are freed.
func (t *txManager) del(root uint64, vt *valueType) error {
	return t.delAt(root, vt, 0)
}

func (t *txManager) delAt(nr uint64, vt *valueType, depth int) error {
	if depth > maxDepth {
		return &BlockError{Block: nr, What: "btree node", Msg: "tree too deep (cycle?)"}
	}
	if err := t.msm.check(nr); err != nil {
		return err
	}
	if t.msm.get(nr) > 1 {
		return t.dec(nr)
	}
	n, err := t.readNode(nr, vt)
	if err != nil {
		return err
	}
	// Copy out: recursion may evict nothing, but freeing may forget this block.
	n = append(node(nil), n...)
	for i := 0; i < n.nr(); i++ {
		switch {
		case !n.isLeaf():
			err = t.delAt(n.valueU64(i), vt, depth+1)
		case vt.dec != nil:
			err = vt.dec(n.value(i))
		}
		if err != nil {
			return err
		}
	}
	return t.dec(nr)
}

// walk calls fn for every (key, value) in key order. fn must not modify the tree.
func (t *txManager) walk(root uint64, vt *valueType, fn func(key uint64, value []byte) error) error {
	return t.walkAt(root, vt, fn, 0)
}

func (t *txManager) walkAt(nr uint64, vt *valueType, fn func(uint64, []byte) error, depth int) error {
	if depth > maxDepth {
		return &BlockError{Block: nr, What: "btree node", Msg: "tree too deep (cycle?)"}
	}
	n, err := t.readNode(nr, vt)
	if err != nil {
		return err
	}
	if !n.isLeaf() {
		children := make([]uint64, n.nr())
		for i := range children {
			children[i] = n.valueU64(i)
		}
		for _, c := range children {
			if err := t.walkAt(c, vt, fn, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	for i := 0; i < n.nr(); i++ {
		if err := fn(n.key(i), n.value(i)); err != nil {
			return err
		}
	}
	return nil
}

// highestKey returns the largest key in the tree.
func (t *txManager) highestKey(root uint64, vt *valueType) (uint64, bool, error) {
	nr := root
	for depth := 0; depth <= maxDepth; depth++ {
		n, err := t.readNode(nr, vt)
		if err != nil {
			return 0, false, err
		}
		if n.nr() == 0 {
			return 0, false, nil
		}
		if n.isLeaf() {
			return n.key(n.nr() - 1), true, nil
		}
		nr = n.valueU64(n.nr() - 1)
	}
	return 0, false, &BlockError{Block: nr, What: "btree node", Msg: "tree too deep (cycle?)"}
}

// build creates a tree from keys in strictly increasing order with values packed
// back to back (vt.size bytes each). No references are added for the values.
func (t *txManager) build(keys []uint64, values []byte, vt *valueType) (uint64, error) {
	if len(keys) == 0 {
		return t.emptyTree(vt)
	}
	leaf := true
	size := vt.size
	for {
		maxE := calcMaxEntries(size)
		nNodes := (len(keys) + maxE - 1) / maxE
		upKeys := make([]uint64, 0, nNodes)
		upVals := make([]byte, 0, 8*nNodes)
		start := 0
		for i := 0; i < nNodes; i++ {
			count := len(keys) / nNodes
			if i < len(keys)%nNodes {
				count++
			}
			if i%1024 == 1023 {
				if err := t.cache.trim(); err != nil {
					return 0, err
				}
			}
			nr, b, err := t.newBlock(saltNode)
			if err != nil {
				return 0, err
			}
			n := node(b.data)
			initNode(n, leaf, size)
			for j := 0; j < count; j++ {
				n.setKey(j, keys[start+j])
			}
			copy(n[n.valueOff(0):], values[start*size:(start+count)*size])
			n.setNr(count)
			upKeys = append(upKeys, keys[start])
			upVals = binary.LittleEndian.AppendUint64(upVals, nr)
			start += count
		}
		if nNodes == 1 {
			return binary.LittleEndian.Uint64(upVals), nil
		}
		keys, values, leaf, size = upKeys, upVals, false, 8
	}
}

// walkRange calls fn for every key in [begin, end), skipping subtrees outside it.
func (t *txManager) walkRange(root, begin, end uint64, vt *valueType, fn func(key uint64)) error {
	return t.walkRangeAt(root, begin, end, vt, fn, 0)
}

func (t *txManager) walkRangeAt(nr, begin, end uint64, vt *valueType, fn func(uint64), depth int) error {
	if depth > maxDepth {
		return &BlockError{Block: nr, What: "btree node", Msg: "tree too deep (cycle?)"}
	}
	n, err := t.readNode(nr, vt)
	if err != nil {
		return err
	}
	if n.isLeaf() {
		for i := max(n.lowerBound(begin), 0); i < n.nr() && n.key(i) < end; i++ {
			if n.key(i) >= begin {
				fn(n.key(i))
			}
		}
		return nil
	}
	var children []uint64
	for i := max(n.lowerBound(begin), 0); i < n.nr() && n.key(i) < end; i++ {
		children = append(children, n.valueU64(i))
	}
	for _, c := range children {
		if err := t.walkRangeAt(c, begin, end, vt, fn, depth+1); err != nil {
			return err
		}
	}
	return nil
}

package btree

import "github.com/gdmsetup/gdmsetup/pdata/block"

// maxFingerLevels bounds the nesting of trees whose inserts keep a finger.
const maxFingerLevels = 4

// finger remembers the last-level leaf that the previous insert through an
// Info reached and the key range its path leads to there, so that the next
// insert into that range writes the leaf directly instead of descending
// again (sequential keys append to one leaf until it fills).
//
// It is recorded only after a descent that split and rebalanced nothing,
// so every internal node on the path had room (a full one is always split
// on the way down), and it is used only while the transaction manager's
// epoch is the one recorded (no tree was reshaped, no block shared or
// dropped, no commit since), the root and upper-level keys match and the
// leaf has room: a descent would then shadow nothing new (every node on the
// path is this transaction's, referenced once), split nothing, change no
// separator key and end in the same leaf, so writing the leaf is exactly
// what it would do.
type finger struct {
	epoch uint64 // 0: no finger
	root  uint64
	upper [maxFingerLevels - 1]uint64
	leaf  uint64
	lo    uint64 // keys in [lo, hi) lead to leaf (hi unbounded if !hasHi)
	hi    uint64
	hasHi bool
}

// pathRange accumulates, during a descent, the key range that leads to the
// current node, and whether a node was split or rebalanced (then keys moved
// and the descent is not recorded).
type pathRange struct {
	lo, hi uint64
	hasHi  bool
	split  bool
}

// enter narrows r to child i of internal node n.
func (r *pathRange) enter(n Node, i int) {
	r.lo = max(r.lo, n.Key(i))
	if i+1 < n.NrEntries() && (!r.hasHi || n.Key(i+1) < r.hi) {
		r.hi, r.hasHi = n.Key(i+1), true
	}
}

// record sets the finger after a descent to leaf for keys (or clears it
// when the path cannot be reused).
func (info *Info) record(root uint64, keys []uint64, leaf uint64, r *pathRange) {
	if r.split || info.Levels > maxFingerLevels {
		info.finger = finger{}
		return
	}
	info.finger = finger{epoch: info.TM.Epoch(), root: root, leaf: leaf, lo: r.lo, hi: r.hi, hasHi: r.hasHi}
	copy(info.finger.upper[:], keys[:info.Levels-1])
}

// fingerLeaf returns the finger's leaf write-locked when the insert of
// keys into the tree at root may use it; nil means descend.
func (info *Info) fingerLeaf(root uint64, keys []uint64) (*block.Block, error) {
	f := &info.finger
	key := keys[info.Levels-1]
	if f.epoch != info.TM.Epoch() || f.root != root || key < f.lo || (f.hasHi && key >= f.hi) {
		return nil, nil
	}
	for l, k := range keys[:info.Levels-1] {
		if f.upper[l] != k {
			return nil, nil
		}
	}
	blk, ok, err := info.TM.WriteLockShadowed(f.leaf, Validator)
	if !ok || err != nil {
		return nil, err
	}
	n := Node(blk.Data())
	if !n.IsLeaf() || n.ValueSize() != info.Value.Size || !hasSpaceForInsert(n, key) {
		info.TM.Unlock(blk)
		return nil, nil
	}
	return blk, nil
}

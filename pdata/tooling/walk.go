package tooling

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/gdmsetup/gdmsetup/pdata/array"
	"github.com/gdmsetup/gdmsetup/pdata/bitset"
	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/pdata/btree"
)

// KeyRun is a run of keys [Begin, End) lost to damage (the tools' run<>):
// HasEnd is false when the damage reaches the end of the tree.
type KeyRun struct {
	Begin, End uint64
	HasEnd     bool
}

// TreeDamage is btree_detail::damage: the keys a damaged part of a tree lost
// and why (the reasons of its nodes, concatenated).
type TreeDamage struct {
	Lost KeyRun
	Desc string
}

// treeWalk walks a one-level btree as the tools' btree_damage_visitor does:
// every node checked (btree_node_checker), a node seen before skipped, values
// of good leaves visited in key order; a node that cannot be read or fails a
// check, or whose visit fails, is damage, reported (once the walk is past the
// keys it lost) with the reasons met since the last report. An error of the
// damage callback, as any error while a node is walked, is itself damage of
// that node (the tools' walk_tree catches every runtime_error); only the one
// issued at the end of the walk leaves it.
type treeWalk struct {
	rd        *Reader
	valueSize int
	value     func(key uint64, v []byte) error
	damage    func(TreeDamage) error

	seen        map[uint64]bool
	lastLeaf    uint64 // the last key of the previous leaf, when hasLastLeaf
	hasLastLeaf bool
	damaged     bool   // damage_tracker: a bad node since the last good one
	damageBegin uint64 // where the lost keys start
	reasons     []string
}

// WalkTree walks the tree at root whose leaves hold values of valueSize bytes.
func (t *Reader) WalkTree(root uint64, valueSize int, value func(uint64, []byte) error, damage func(TreeDamage) error) error {
	w := &treeWalk{rd: t, valueSize: valueSize, value: value, damage: damage, seen: map[uint64]bool{}}
	w.walk(root, true, 0, false)
	if !w.damaged {
		return nil
	}
	w.damaged = false
	return w.issue(KeyRun{Begin: w.damageBegin})
}

// walk is walk_tree: node b, the root when root, else below parentKey.
func (w *treeWalk) walk(b uint64, root bool, parentKey uint64, hasParent bool) {
	if err := w.walkNode(b, root, parentKey, hasParent); err != nil {
		w.report(err.Error())
	}
}

func (w *treeWalk) walkNode(b uint64, root bool, parentKey uint64, hasParent bool) error {
	n, err := w.rd.Node(b)
	if err != nil {
		return err
	}
	flags := n.Flags()
	switch {
	case flags&btree.InternalNode != 0 && flags&btree.LeafNode != 0:
		return fmt.Errorf("btree node is both internal and leaf (block %d)", b)
	case flags&btree.InternalNode != 0:
		ok, err := w.check(n, b, root, parentKey, hasParent, 8, false)
		if !ok || err != nil {
			return err
		}
		for i := 0; i < n.NrEntries(); i++ {
			w.walk(n.Value64(i), false, n.Key(i), true)
		}
	case flags&btree.LeafNode != 0:
		ok, err := w.check(n, b, root, parentKey, hasParent, w.valueSize, true)
		if !ok || err != nil {
			return err
		}
		for i := 0; i < n.NrEntries(); i++ {
			if err := w.value(n.Key(i), n.Value(i)); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("unknown node type (block %d)", b)
	}
	return nil
}

// check is check_internal and check_leaf: false (and damage reported) when the
// node fails a check or was seen before; an error when the damage it ends is
// refused.
func (w *treeWalk) check(n btree.Node, b uint64, root bool, parentKey uint64, hasParent bool, valueSize int, leaf bool) (bool, error) {
	if root {
		w.hasLastLeaf = false
	}
	if w.seen[b] {
		return false, nil
	}
	w.seen[b] = true
	if why := w.nodeProblem(n, b, root, parentKey, hasParent, valueSize, leaf); why != "" {
		w.report(why)
		return false, nil
	}
	nr := n.NrEntries()
	if !leaf {
		return true, w.good(n.Key(0), n.Key(0))
	}
	if nr == 0 {
		return true, nil
	}
	w.lastLeaf, w.hasLastLeaf = n.Key(nr-1), true
	return true, w.good(n.Key(0), n.Key(nr-1)+1)
}

// nodeProblem is btree_node_checker's first failing check, in its words.
func (w *treeWalk) nodeProblem(n btree.Node, b uint64, root bool, parentKey uint64, hasParent bool, valueSize int, leaf bool) string {
	nr, max, vs := uint32(n.NrEntries()), uint32(n.MaxEntries()), uint32(n.ValueSize())
	switch {
	case n.Blocknr() != b:
		return fmt.Sprintf("block number mismatch: actually %d, claims %d", b, n.Blocknr())
	case vs != uint32(valueSize):
		return fmt.Sprintf("value size mismatch: expected %d, but got %d (block %d).", valueSize, vs, b)
	case (8+uint64(vs))*uint64(max)+btree.NodeHeaderSize > block.BlockSize:
		return fmt.Sprintf("max entries too large: %d (block %d)", max, b)
	case max%3 != 0:
		return fmt.Sprintf("max entries is not divisible by 3: %d (block %d)", max, b)
	case nr > max:
		return fmt.Sprintf("bad nr_entries: %d < %d (block %d)", nr, max, b)
	case !root && nr < max/3:
		return fmt.Sprintf("too few entries in btree_node: %d, expected at least %d (block %d, max_entries = %d)", nr, max/3, b, max)
	}
	for i := 1; i < int(nr); i++ {
		if k, last := n.Key(i), n.Key(i-1); k <= last {
			return fmt.Sprintf("keys are out of order, %d <= %d (block %d)", k, last, b)
		}
	}
	if hasParent && parentKey > n.Key(0) {
		return fmt.Sprintf("parent key mismatch: parent was %d, but lowest in node was %d (block %d)", parentKey, n.Key(0), b)
	}
	if leaf && nr > 0 && w.hasLastLeaf && w.lastLeaf >= n.Key(0) {
		return fmt.Sprintf("the last key of the previous leaf was %d and the first key of this leaf is %d (block %d)", w.lastLeaf, n.Key(0), b)
	}
	return ""
}

// report is report_damage: a bad node and why.
func (w *treeWalk) report(why string) {
	w.reasons = append(w.reasons, why)
	w.damaged = true
}

// good is damage_tracker's good_internal (begin = end = the first key) and
// good_leaf (end: one past the last key): damage met since the last good node
// lost the keys up to begin.
func (w *treeWalk) good(begin, end uint64) error {
	from := w.damageBegin
	w.damageBegin = end
	if !w.damaged {
		return nil
	}
	w.damaged = false
	return w.issue(KeyRun{Begin: from, End: begin, HasEnd: true})
}

func (w *treeWalk) issue(lost KeyRun) error {
	d := TreeDamage{Lost: lost, Desc: strings.Join(w.reasons, "")}
	w.reasons = nil
	return w.damage(d)
}

// WalkArray is array::visit_values over the array at root of nrEntries values of
// valueSize bytes: visit gets each entry of each array block the tree walk
// reaches (the index computed from the block's own max_entries), damage the
// entries lost (tree damage scaled to entries, then "missing blocks" when the
// highest entry seen is not the last). An array of no entries misses none
// (thin-provisioning-tools 0.9.0 reports "[1, 0]" missing there, on
// metadata its own cache_repair writes from a superblock saying 0 blocks).
func (t *Reader) WalkArray(root uint64, nrEntries uint32, valueSize int, visit func(index uint32, v []byte) error, damage func(lost KeyRun, desc string) error) error {
	perBlock := uint64(array.CalcMaxEntries(valueSize))
	var highest uint32
	err := t.WalkTree(root, 8, func(key uint64, v []byte) error {
		a, err := t.ArrayBlock(binary.LittleEndian.Uint64(v))
		if err != nil {
			return err
		}
		max, nr := uint32(a.MaxEntries()), uint32(a.NrEntries())
		for i := uint32(0); i < nr; i++ {
			e, err := ArrayElement(a, i, valueSize)
			if err != nil {
				return err
			}
			if err := visit(uint32(key)*max+i, e); err != nil {
				return err
			}
		}
		highest = maxU32(highest, uint32(key)*max+nr-1)
		return nil
	}, func(d TreeDamage) error {
		lost := KeyRun{Begin: uint64(uint32(d.Lost.Begin * perBlock)), End: uint64(uint32(d.Lost.End * perBlock)), HasEnd: d.Lost.HasEnd}
		return damage(lost, d.Desc)
	})
	if err != nil {
		return err
	}
	if nrEntries > 0 && highest != nrEntries-1 {
		return damage(KeyRun{Begin: uint64(highest + 1), End: uint64(nrEntries), HasEnd: true}, "missing blocks")
	}
	return nil
}

func maxU32(a, b uint32) uint32 {
	if a > b {
		return a
	}
	return b
}

// WalkBitset is bitset::walk_bitset: bit gets every bit of the nrBits the
// array holds, damage the bits lost.
func (t *Reader) WalkBitset(root uint64, nrBits uint32, bit func(index uint32, set bool) error, damage func(lost KeyRun, desc string) error) error {
	nrWords := uint32(bitset.NrWords(uint64(nrBits)))
	return t.WalkArray(root, nrWords, 8, func(word uint32, v []byte) error {
		w := binary.LittleEndian.Uint64(v)
		index := word * bitset.BitsPerWord
		for b := 0; b < bitset.BitsPerWord && index < nrBits; b, index = b+1, index+1 {
			if err := bit(index, w&(1<<b) != 0); err != nil {
				return err
			}
		}
		return nil
	}, func(lost KeyRun, desc string) error {
		lost.Begin, lost.End = uint64(uint32(lost.Begin)*bitset.BitsPerWord), uint64(uint32(lost.End)*bitset.BitsPerWord)
		return damage(lost, desc)
	})
}

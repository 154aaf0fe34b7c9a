package pdatatest_test

import (
	"encoding/binary"
	"testing"

	"github.com/gdmsetup/gdmsetup/pdata/array"
	"github.com/gdmsetup/gdmsetup/pdata/btree"
	"github.com/gdmsetup/gdmsetup/pdata/faultdev"
	"github.com/gdmsetup/gdmsetup/pdata/pdatatest"
)

// The kernel never clears the key and value slots that entries leave
// (dm-btree-remove.c delete_at and node_shift, dm-btree.c redistribute2/3
// and btree_split_beneath, dm-array.c trim_ablock): the bytes stay in the
// block and go to disk. The metadata device must hold the kernel's bytes
// (an era device's writeset tree leaf after a digest removed its only
// entry showed it first), so these tests pin the slots past nr_entries.

// plainTree is a one-level tree of 8-byte values without reference counts
// in a fresh test environment, and its empty root.
func plainTree(t *testing.T) (*pdatatest.Env, *btree.Info, uint64) {
	t.Helper()
	e, err := pdatatest.Format(faultdev.New(1024*4096), 1000, 1, 64)
	if err != nil {
		t.Fatal(err)
	}
	info := &btree.Info{TM: e.TM, Levels: 1, Value: btree.ValueType{Size: 8}}
	root, err := info.Empty()
	if err != nil {
		t.Fatal(err)
	}
	return e, info, root
}

func insertPlain(t *testing.T, info *btree.Info, root, key, value uint64) uint64 {
	t.Helper()
	var v [8]byte
	binary.LittleEndian.PutUint64(v[:], value)
	root, err := info.Insert(root, []uint64{key}, v[:])
	if err != nil {
		t.Fatalf("insert %d: %v", key, err)
	}
	return root
}

// node returns a copy of node b's bytes.
func node(t *testing.T, e *pdatatest.Env, b uint64) btree.Node {
	t.Helper()
	var n btree.Node
	err := e.TM.View(b, btree.Validator, func(d []byte) error {
		n = append(btree.Node(nil), d...)
		return nil
	})
	if err != nil {
		t.Fatalf("node %d: %v", b, err)
	}
	return n
}

// wantSlots checks n's keys and values (value = key + 1000) in slots
// [0, len(keys)), whatever nr_entries says.
func wantSlots(t *testing.T, what string, n btree.Node, nr int, keys []uint64) {
	t.Helper()
	if n.NrEntries() != nr {
		t.Errorf("%s: nr_entries %d, want %d", what, n.NrEntries(), nr)
	}
	for i, k := range keys {
		if n.Key(i) != k || n.Value64(i) != k+1000 {
			t.Errorf("%s: slot %d holds key %d value %d, want %d and %d", what, i, n.Key(i), n.Value64(i), k, k+1000)
		}
	}
}

// TestKernelBytesRemove: a removed entry's slot keeps its bytes; removing
// the first entry shifts the rest down and leaves the old last slot.
func TestKernelBytesRemove(t *testing.T) {
	e, info, root := plainTree(t)
	for _, k := range []uint64{10, 20, 30} {
		root = insertPlain(t, info, root, k, k+1000)
	}
	var err error
	if root, err = info.Remove(root, []uint64{30}); err != nil {
		t.Fatal(err)
	}
	wantSlots(t, "after removing 30", node(t, e, root), 2, []uint64{10, 20, 30})
	if root, err = info.Remove(root, []uint64{10}); err != nil {
		t.Fatal(err)
	}
	wantSlots(t, "after removing 10", node(t, e, root), 1, []uint64{20, 20, 30})
	if root, err = info.Remove(root, []uint64{20}); err != nil {
		t.Fatal(err)
	}
	wantSlots(t, "after removing 20", node(t, e, root), 0, []uint64{20, 20, 30})
}

// TestKernelBytesSplit: a full root leaf splits beneath itself into a
// left then a right node, the next two free blocks (the root came from the
// first allocation of the transaction, whose space map bitmap shadow took
// the block after it, as in sm_metadata); the root becomes an
// internal node whose slots past the first two keep the leaf's entries.
// A full last child whose left sibling is nearly full too then splits
// into two: the entries that move to the new node stay in its slots.
func TestKernelBytesSplit(t *testing.T) {
	e, info, root := plainTree(t)
	const full = 252 // btree.CalcMaxEntries(8)
	for k := uint64(0); k < full; k++ {
		root = insertPlain(t, info, root, k, k+1000)
	}
	root = insertPlain(t, info, root, full, full+1000)
	rn := node(t, e, root)
	if rn.Flags() != btree.InternalNode || rn.NrEntries() != 2 || rn.MaxEntries() != full || rn.ValueSize() != 8 {
		t.Fatalf("root after split: flags %d, %d/%d entries of %d bytes", rn.Flags(), rn.NrEntries(), rn.MaxEntries(), rn.ValueSize())
	}
	left, right := rn.Value64(0), rn.Value64(1)
	if left != root+2 || right != root+3 || rn.Key(0) != 0 || rn.Key(1) != full/2 {
		t.Fatalf("root %d points at %d (key %d) and %d (key %d), want %d (0) and %d (%d)",
			root, left, rn.Key(0), right, rn.Key(1), root+2, root+3, full/2)
	}
	for i := 2; i < full; i++ {
		if rn.Key(i) != uint64(i) || rn.Value64(i) != uint64(i)+1000 {
			t.Fatalf("root slot %d: key %d value %d, want the old leaf's %d and %d", i, rn.Key(i), rn.Value64(i), i, i+1000)
		}
	}
	// Ascending inserts fill the last child, move entries into its left
	// sibling while that has room, and then split it in two: the entries
	// that go to the new node stay in the old one's slots.
	for k := uint64(full + 1); k < 4*full; k++ {
		last := rn.Value64(rn.NrEntries() - 1)
		before := node(t, e, last)
		root = insertPlain(t, info, root, k, k+1000)
		rn = node(t, e, root)
		if rn.NrEntries() == 2 {
			continue
		}
		after := node(t, e, last)
		if rn.NrEntries() != 3 || rn.Value64(1) != last || after.NrEntries() != full/2 {
			t.Fatalf("inserting %d: root has %d children, child 1 at %d with %d entries, want 3, %d, %d",
				k, rn.NrEntries(), rn.Value64(1), after.NrEntries(), last, full/2)
		}
		for i := 0; i < full; i++ {
			if after.Key(i) != before.Key(i) || after.Value64(i) != before.Value64(i) {
				t.Fatalf("split child slot %d: key %d, was %d", i, after.Key(i), before.Key(i))
			}
		}
		return
	}
	t.Fatal("the last child never split")
}

// TestKernelBytesRebalanceOnRemove: removals from the left child until
// the first rebalance moves entries from the right child's front; the
// right child's vacated last slots keep their bytes.
func TestKernelBytesRebalanceOnRemove(t *testing.T) {
	e, info, root := plainTree(t)
	const n = 253 // one past a full leaf: children of 126 and 127 entries
	for k := uint64(0); k < n; k++ {
		root = insertPlain(t, info, root, k, k+1000)
	}
	before := node(t, e, node(t, e, root).Value64(1))
	var err error
	for k := uint64(0); ; k++ {
		if root, err = info.Remove(root, []uint64{k}); err != nil {
			t.Fatal(err)
		}
		rn := node(t, e, root)
		if rn.NrEntries() != 2 {
			t.Fatalf("root has %d children after removing %d, want 2", rn.NrEntries(), k)
		}
		r := node(t, e, rn.Value64(1))
		if r.NrEntries() == before.NrEntries() {
			continue
		}
		moved := before.NrEntries() - r.NrEntries()
		for i := 0; i < before.NrEntries(); i++ {
			want := before.Key(i) // the stale tail
			if i < r.NrEntries() {
				want = before.Key(i + moved)
			}
			if r.Key(i) != want || r.Value64(i) != want+1000 {
				t.Fatalf("right child slot %d after %d moved left: key %d value %d, want %d", i, moved, r.Key(i), r.Value64(i), want)
			}
		}
		return
	}
}

// TestKernelBytesArrayTrim: shrinking an array leaves the dropped
// elements' bytes in its last block.
func TestKernelBytesArrayTrim(t *testing.T) {
	e, _, _ := plainTree(t)
	info := array.NewInfo(e.TM, btree.ValueType{Size: 4})
	root, err := info.Empty()
	if err != nil {
		t.Fatal(err)
	}
	if root, err = info.Resize(root, 0, 10, []byte{7, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	if root, err = info.Resize(root, 10, 5, make([]byte, 4)); err != nil {
		t.Fatal(err)
	}
	tree := btree.Info{TM: e.TM, Levels: 1, Value: btree.ValueType{Size: 8}}
	var v [8]byte
	if err := tree.Lookup(root, []uint64{0}, v[:]); err != nil {
		t.Fatal(err)
	}
	err = e.TM.View(binary.LittleEndian.Uint64(v[:]), array.Validator, func(d []byte) error {
		a := array.Block(d)
		if a.NrEntries() != 5 {
			t.Errorf("array block holds %d entries, want 5", a.NrEntries())
		}
		for i := 5; i < 10; i++ {
			if got := binary.LittleEndian.Uint32(a.Element(i)); got != 7 {
				t.Errorf("trimmed element %d: %d, want the stale 7", i, got)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestKernelRemoveRangeDescents: a range removal starts from the next
// mapped key found by a lookup (dm_btree_lookup_next), so a range that
// holds no key shadows nothing: the committed root stays and no block is
// allocated. Each removal is one descent from the root, as in
// dm_btree_remove_leaves.
func TestKernelRemoveRangeDescents(t *testing.T) {
	e, info, root := plainTree(t)
	for k := uint64(0); k < 400; k++ {
		if k < 100 || k >= 200 {
			root = insertPlain(t, info, root, k, k+1000)
		}
	}
	if err := e.Commit(); err != nil {
		t.Fatal(err)
	}
	free, err := e.MSM.NrFree()
	if err != nil {
		t.Fatal(err)
	}
	newRoot, n, err := info.RemoveRange(root, []uint64{0}, 100, 200)
	if err != nil || n != 0 || newRoot != root {
		t.Fatalf("removing the empty range [100, 200): root %d -> %d, %d removed, %v", root, newRoot, n, err)
	}
	if after, err := e.MSM.NrFree(); err != nil || after != free {
		t.Fatalf("removing the empty range [100, 200): %d free blocks, was %d (%v)", after, free, err)
	}
	if root, n, err = info.RemoveRange(root, []uint64{0}, 150, 205); err != nil || n != 5 {
		t.Fatalf("removing [150, 205): %d removed, want 5 (%v)", n, err)
	}
	var v [8]byte
	for k := uint64(195); k < 210; k++ {
		err := info.Lookup(root, []uint64{k}, v[:])
		if present := err == nil; present != (k >= 205) {
			t.Errorf("key %d present %v after removing [150, 205) (%v)", k, present, err)
		}
	}
}

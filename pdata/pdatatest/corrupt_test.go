package pdatatest_test

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/pdata/btree"
	"github.com/gdmsetup/gdmsetup/pdata/faultdev"
	"github.com/gdmsetup/gdmsetup/pdata/pdatatest"
	"github.com/gdmsetup/gdmsetup/pdata/spacemap"
)

// committedImage returns a committed device image with a multi-level tree.
func committedImage(t *testing.T) ([]byte, *pdatatest.Env) {
	t.Helper()
	dev := faultdev.New(512 * 4096)
	e, err := pdatatest.Format(dev, 5000, 2, 32)
	if err != nil {
		t.Fatal(err)
	}
	for d := uint64(0); d < 2; d++ {
		for vb := uint64(0); vb < 700; vb++ {
			db, err := e.DSM.NewBlock()
			if err != nil {
				t.Fatal(err)
			}
			if e.Root, err = e.Info.Insert(e.Root, []uint64{d, vb * 7}, u64(db)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := e.Commit(); err != nil {
		t.Fatal(err)
	}
	return dev.Image(), e
}

// exercise opens dev and reads and writes everything, returning the first
// error; a panic fails the test.
func exercise(t *testing.T, dev *faultdev.Device) (err error) {
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("panic: %v", r)
		}
	}()
	if err := pdatatest.Check(dev); err != nil {
		return err
	}
	e, err := pdatatest.Open(dev, 16)
	if err != nil {
		return err
	}
	if err := e.Info.Walk(e.Root, func([]uint64, []byte) error { return nil }); err != nil {
		return err
	}
	for vb := uint64(0); vb < 100; vb++ {
		if e.Root, err = e.Info.Insert(e.Root, []uint64{1, vb*7 + 1}, u64(vb)); err != nil {
			return err
		}
	}
	return e.Commit()
}

// TestCorruptBlocks damages every block in use in turn (a bit flip, then
// zeroes) and requires an error naming that block, never a panic.
func TestCorruptBlocks(t *testing.T) {
	image, e := committedImage(t)
	counts, err := spacemap.ReadCounts(faultdev.FromImage(image), e.MSM.Root(), true)
	if err != nil {
		t.Fatal(err)
	}
	for b := uint64(0); b < e.MSM.Root().NrAllocated+8; b++ {
		inUse := counts.Counts[b] > 0
		for _, how := range []string{"bitflip", "zero"} {
			img := append([]byte(nil), image...)
			blk := img[b*block.BlockSize : (b+1)*block.BlockSize]
			if how == "zero" {
				clear(blk)
			} else {
				blk[123] ^= 0x10
			}
			err := exercise(t, faultdev.FromImage(img))
			if !inUse {
				if err != nil {
					t.Fatalf("damage to free block %d: %v", b, err)
				}
				continue
			}
			if err == nil {
				t.Fatalf("%s of block %d went unnoticed", how, b)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf(" %d", b)) {
				t.Fatalf("%s of block %d: error does not name it: %v", how, b, err)
			}
		}
	}
}

func TestTruncatedDevice(t *testing.T) {
	image, e := committedImage(t)
	cut := e.MSM.Root().NrAllocated / 2 * block.BlockSize
	err := exercise(t, faultdev.FromImage(image[:cut]))
	if err == nil {
		t.Fatal("truncated device accepted")
	}
}

// TestCycle makes an internal node point at itself (with a valid checksum):
// walks and lookups must end with an error.
func TestCycle(t *testing.T) {
	image, e := committedImage(t)
	// Find an internal node of device 0's bottom tree.
	top := make([]byte, 8)
	upper := btree.Info{TM: e.TM, Levels: 1, Value: btree.ValueType{Size: 8}}
	if err := upper.Lookup(e.Root, []uint64{0}, top); err != nil {
		t.Fatal(err)
	}
	root := binary.LittleEndian.Uint64(top)
	n := btree.Node(image[root*block.BlockSize : (root+1)*block.BlockSize])
	if n.IsLeaf() {
		t.Fatal("bottom tree root is a leaf; test needs an internal node")
	}
	n.SetValue64(1, root)
	btree.Validator.Prepare(n, root)
	dev := faultdev.FromImage(image)
	err := exercise(t, dev)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprint(root)) {
		t.Fatalf("cycle at node %d: %v", root, err)
	}
	e2, err := pdatatest.Open(dev, 16)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]byte, 8)
	if err := e2.Info.Lookup(e2.Root, []uint64{0, n.Key(1) + 7}, v); err == nil {
		t.Fatal("lookup through a cycle succeeded")
	}
}

func TestWrongMagic(t *testing.T) {
	image, _ := committedImage(t)
	image[16] ^= 1
	pdatatest.SuperblockValidator.Prepare(image[:block.BlockSize], 0)
	if _, err := pdatatest.Open(faultdev.FromImage(image), 16); err == nil || !strings.Contains(err.Error(), "magic") {
		t.Fatalf("wrong magic: %v", err)
	}
}

// setRoot rewrites the space-map root at off (64: metadata, 192: data) of
// the test superblock in img with fn applied.
func setRoot(t *testing.T, img []byte, off int, fn func(r *spacemap.Root)) {
	t.Helper()
	r, err := spacemap.DecodeRoot(img[off:])
	if err != nil {
		t.Fatal(err)
	}
	fn(&r)
	r.Encode(img[off : off+spacemap.RootSize])
	pdatatest.SuperblockValidator.Prepare(img[:block.BlockSize], 0)
}

// TestHugeNrBlocks claims space maps of 2^60 blocks: reading and opening
// them must fail with an error naming the index (tree or block) and not
// try to allocate memory for the claimed size.
func TestHugeNrBlocks(t *testing.T) {
	image, e := committedImage(t)
	for _, c := range []struct {
		off  int
		root spacemap.Root
		meta bool
	}{{192, e.DSM.Root(), false}, {64, e.MSM.Root(), true}} {
		img := append([]byte(nil), image...)
		setRoot(t, img, c.off, func(r *spacemap.Root) { r.NrBlocks = 1 << 60 })
		dev := faultdev.FromImage(img)
		want := fmt.Sprint(c.root.BitmapRoot)
		if _, err := spacemap.ReadCounts(dev, spacemap.Root{NrBlocks: 1 << 60, NrAllocated: c.root.NrAllocated,
			BitmapRoot: c.root.BitmapRoot, RefCountRoot: c.root.RefCountRoot}, c.meta); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("ReadCounts of 2^60 blocks (metadata %v): %v", c.meta, err)
		}
		_, err := pdatatest.Open(dev, 16)
		if err == nil || !strings.Contains(err.Error(), "1152921504606846976") {
			t.Fatalf("open with 2^60 blocks (metadata %v): %v", c.meta, err)
		}
	}
}

// TestDuplicateBitmap points the second data bitmap's index entry at the
// first bitmap: ReadCounts must refuse it, naming the block.
func TestDuplicateBitmap(t *testing.T) {
	dev := faultdev.New(512 * 4096)
	e, err := pdatatest.Format(dev, 3*spacemap.EntriesPerBitmap, 1, 32)
	if err != nil {
		t.Fatal(err)
	}
	root := e.DSM.Root()
	var first, second [spacemap.IndexEntrySize]byte
	ii := btree.Info{TM: e.TM, Levels: 1, Value: btree.ValueType{Size: spacemap.IndexEntrySize}}
	if err := ii.Lookup(root.BitmapRoot, []uint64{0}, first[:]); err != nil {
		t.Fatal(err)
	}
	if err := ii.Lookup(root.BitmapRoot, []uint64{1}, second[:]); err != nil {
		t.Fatal(err)
	}
	dup := spacemap.DecodeIndexEntry(first[:])
	img := dev.Image()
	leaf := btree.Node(img[root.BitmapRoot*block.BlockSize : (root.BitmapRoot+1)*block.BlockSize])
	dup.Encode(leaf.Value(1))
	btree.Validator.Prepare(leaf, root.BitmapRoot)
	_, err = spacemap.ReadCounts(faultdev.FromImage(img), root, false)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("block %d", dup.Blocknr)) {
		t.Fatalf("duplicate bitmap %d: %v", dup.Blocknr, err)
	}
}

// TestNrAllocatedTolerated: a root whose nr_allocated disagrees with its
// bitmaps (thin_restore 0.9 writes one too many) is read, as thin_check
// reads it, with the bitmaps' figure in Allocated.
func TestNrAllocatedTolerated(t *testing.T) {
	image, e := committedImage(t)
	root := e.MSM.Root()
	root.NrAllocated++
	c, err := spacemap.ReadCounts(faultdev.FromImage(image), root, true)
	if err != nil {
		t.Fatal(err)
	}
	if c.Allocated != root.NrAllocated-1 {
		t.Fatalf("Allocated = %d, want %d", c.Allocated, root.NrAllocated-1)
	}
	img := append([]byte(nil), image...)
	setRoot(t, img, 64, func(r *spacemap.Root) { r.NrAllocated++ })
	if err := pdatatest.Check(faultdev.FromImage(img)); err == nil || !strings.Contains(err.Error(), "allocated") {
		t.Fatalf("pdatatest.Check (strict for our own metadata): %v", err)
	}
}

// TestLeafValueSize gives a last-level leaf 4-byte values (the node stays
// valid): every operation handing values to the caller or to the value
// type's callbacks must refuse it, naming the block.
func TestLeafValueSize(t *testing.T) {
	image, e := committedImage(t)
	top := make([]byte, 8)
	upper := btree.Info{TM: e.TM, Levels: 1, Value: btree.ValueType{Size: 8}}
	if err := upper.Lookup(e.Root, []uint64{0}, top); err != nil {
		t.Fatal(err)
	}
	var leaf uint64
	err := btree.WalkNodes(faultdev.FromImage(image), binary.LittleEndian.Uint64(top), 1, func(info btree.NodeInfo, n btree.Node) (bool, error) {
		if n.IsLeaf() && leaf == 0 {
			leaf = info.Blocknr
		}
		return true, nil
	})
	if err != nil || leaf == 0 {
		t.Fatalf("no leaf: %v", err)
	}
	n := btree.Node(image[leaf*block.BlockSize : (leaf+1)*block.BlockSize])
	n.SetValueSize(4)
	btree.Validator.Prepare(n, leaf)
	key := []uint64{0, n.Key(0)}
	want := fmt.Sprintf("btree node %d", leaf)
	ops := map[string]func(e *pdatatest.Env) error{
		"lookup": func(e *pdatatest.Env) error { return e.Info.Lookup(e.Root, key, make([]byte, 8)) },
		"walk":   func(e *pdatatest.Env) error { return e.Info.Walk(e.Root, func([]uint64, []byte) error { return nil }) },
		"insert": func(e *pdatatest.Env) (err error) { _, err = e.Info.Insert(e.Root, key, u64(1)); return },
		"remove": func(e *pdatatest.Env) (err error) { _, err = e.Info.Remove(e.Root, key); return },
		"del":    func(e *pdatatest.Env) error { return e.Info.Del(e.Root) },
	}
	for name, op := range ops {
		e, err := pdatatest.Open(faultdev.FromImage(image), 16)
		if err != nil {
			t.Fatal(err)
		}
		if err := op(e); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s over a leaf of 4-byte values: %v", name, err)
		}
	}
}

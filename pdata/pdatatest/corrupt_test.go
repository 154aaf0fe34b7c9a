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

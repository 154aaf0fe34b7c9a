package pdatatest_test

import (
	"encoding/binary"
	"math/rand"
	"os"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/fixture"
	"github.com/gdmsetup/gdmsetup/pdata/array"
	"github.com/gdmsetup/gdmsetup/pdata/bitset"
	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/pdata/faultdev"
	"github.com/gdmsetup/gdmsetup/pdata/pdatatest"
	"github.com/gdmsetup/gdmsetup/pdata/spacemap"
)

// checkArrayCounts recomputes the metadata counts of a committed Env plus
// an array rooted at arrayRoot (its btree nodes and array blocks).
func checkArrayCounts(t *testing.T, dev *faultdev.Device, e *pdatatest.Env, arrayRoot uint64) {
	t.Helper()
	mroot, droot := e.MSM.Root(), e.DSM.Root()
	mc, err := spacemap.ReadCounts(dev, mroot, true)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := spacemap.ReadCounts(dev, droot, false)
	if err != nil {
		t.Fatal(err)
	}
	meta := make([]uint32, mroot.NrBlocks)
	meta[0]++
	for _, b := range append(mc.Blocks, dc.Blocks...) {
		meta[b]++
	}
	if err := pdatatest.CountTree(dev, e.Root, e.Info.Levels, meta, nil, nil); err != nil {
		t.Fatal(err)
	}
	// Array blocks are referenced from the array btree's leaves.
	if err := pdatatest.CountTree(dev, arrayRoot, 1, meta, meta, func(v []byte) uint64 { return binary.LittleEndian.Uint64(v) }); err != nil {
		t.Fatal(err)
	}
	if err := pdatatest.CompareCounts("metadata", meta, mc.Counts); err != nil {
		t.Fatal(err)
	}
}

// TestArrayModel resizes, sets and walks an array of reference-counted
// values (data blocks) against a slice, with commits and checks of every
// metadata and data reference count.
func TestArrayModel(t *testing.T) {
	dev := faultdev.New(1024 * 4096)
	e, err := pdatatest.Format(dev, 100000, 1, 64)
	if err != nil {
		t.Fatal(err)
	}
	info := array.NewInfo(e.TM, pdatatest.DataValueType(e.DSM))
	if info.MaxEntries() != 509 {
		t.Fatalf("max entries %d, want 509", info.MaxEntries())
	}
	root, err := info.Empty()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(4))
	var model []uint64
	v := make([]byte, 8)
	for round := 0; round < 30; round++ {
		newSize := uint64(rng.Intn(3000))
		fill, err := e.DSM.NewBlock()
		if err != nil {
			t.Fatal(err)
		}
		binary.LittleEndian.PutUint64(v, fill)
		if root, err = info.Resize(root, uint64(len(model)), newSize, v); err != nil {
			t.Fatalf("resize %d -> %d: %v", len(model), newSize, err)
		}
		// The array holds its own references now: drop the allocation's.
		if err := e.DSM.Dec(fill); err != nil {
			t.Fatal(err)
		}
		for uint64(len(model)) < newSize {
			model = append(model, fill)
		}
		model = model[:newSize]
		for i := 0; i < 200 && len(model) > 0; i++ {
			idx := uint64(rng.Intn(len(model)))
			val, err := e.DSM.NewBlock()
			if err != nil {
				t.Fatal(err)
			}
			binary.LittleEndian.PutUint64(v, val)
			if root, err = info.Set(root, idx, v); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			if err := e.DSM.Dec(val); err != nil {
				t.Fatal(err)
			}
			model[idx] = val
		}
		if err := info.Get(root, uint64(len(model)), v); err == nil {
			t.Fatal("get past the end succeeded")
		}
		n := 0
		if err := info.Walk(root, func(i uint64, val []byte) error {
			if i != uint64(n) || binary.LittleEndian.Uint64(val) != model[i] {
				t.Fatalf("walk element %d (#%d) = %d, want %d", i, n, binary.LittleEndian.Uint64(val), model[i])
			}
			n++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if n != len(model) {
			t.Fatalf("walk saw %d elements, want %d", n, len(model))
		}
		c, err := info.NewCursor(root, uint64(len(model)))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; c.Valid(); i++ {
			if c.Index() != uint64(i) || binary.LittleEndian.Uint64(c.Value()) != model[i] {
				t.Fatalf("cursor element %d (#%d) = %d, want %d", c.Index(), i, binary.LittleEndian.Uint64(c.Value()), model[i])
			}
			step := uint64(1 + rng.Intn(3))
			if err := c.Skip(step); err != nil {
				t.Fatal(err)
			}
			i += int(step) - 1
		}
		if err := e.Commit(); err != nil {
			t.Fatal(err)
		}
		checkArrayCounts(t, dev, e, root)
		want := make([]uint32, e.DSM.Root().NrBlocks)
		for _, db := range model {
			want[db]++
		}
		dc, err := spacemap.ReadCounts(dev, e.DSM.Root(), false)
		if err != nil {
			t.Fatal(err)
		}
		if err := pdatatest.CompareCounts("data", want, dc.Counts); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
}

func TestBitset(t *testing.T) {
	dev := faultdev.New(1024 * 4096)
	e, err := pdatatest.Format(dev, 10, 1, 64)
	if err != nil {
		t.Fatal(err)
	}
	bs := bitset.New(e.TM)
	root, err := bs.Empty()
	if err != nil {
		t.Fatal(err)
	}
	const nr = 40000
	if root, err = bs.Resize(root, 0, nr, false); err != nil {
		t.Fatal(err)
	}
	model := make([]bool, nr)
	rng := rand.New(rand.NewSource(5))
	for i := 0; i < 5000; i++ {
		b := uint64(rng.Intn(nr))
		if rng.Intn(4) == 0 {
			root, err = bs.ClearBit(root, b)
			model[b] = false
		} else {
			root, err = bs.SetBit(root, b)
			model[b] = true
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if root, err = bs.Flush(root); err != nil {
		t.Fatal(err)
	}
	if err := e.Commit(); err != nil {
		t.Fatal(err)
	}
	checkArrayCounts(t, dev, e, root)
	for i := uint64(0); i < nr; i += 7 {
		set, r, err := bs.TestBit(root, i)
		if err != nil || set != model[i] {
			t.Fatalf("bit %d = %v (%v), want %v", i, set, err, model[i])
		}
		root = r
	}
	// Grow with ones: new bits (and the padding of the new words) are set.
	if root, err = bs.Resize(root, nr, nr+1000, true); err != nil {
		t.Fatal(err)
	}
	count := 0
	if err := bs.Walk(root, nr+1000, func(bit uint64, set bool) error {
		want := bit >= nr || model[bit] // nr is a multiple of 64: no shared word
		if set != want {
			t.Fatalf("bit %d = %v, want %v", bit, set, want)
		}
		count++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if count != nr+1000 {
		t.Fatalf("walked %d bits", count)
	}
	c, err := bs.NewCursor(root, nr)
	if err != nil {
		t.Fatal(err)
	}
	for c.Valid() {
		if c.Value() != model[c.Bit()] {
			t.Fatalf("cursor bit %d = %v", c.Bit(), c.Value())
		}
		if err := c.Skip(uint64(1 + rng.Intn(100))); err != nil {
			t.Fatal(err)
		}
	}
}

// TestKernelCloneBitset reads the hydration bitset the kernel's dm-clone
// wrote, checks every reference count, then
// modifies it through our stack and checks again.
func TestKernelCloneBitset(t *testing.T) {
	out, err := os.ReadFile(fixture.Unxz(t, "clone_meta"))
	if err != nil {
		t.Fatal(err)
	}
	dev := faultdev.FromImage(out)
	cloneSB := &block.SaltedValidator{Kind: "clone superblock", Salt: 257649492, LocationOff: 8}
	sb := out[:block.BlockSize]
	if err := cloneSB.Check(sb, 0); err != nil {
		t.Fatal(err)
	}
	regionSecs := binary.LittleEndian.Uint64(sb[172:])
	targetSecs := binary.LittleEndian.Uint64(sb[180:])
	nrRegions := (targetSecs + regionSecs - 1) / regionSecs
	root := binary.LittleEndian.Uint64(sb[188:])

	bm, err := block.NewManager(dev, 32, false)
	if err != nil {
		t.Fatal(err)
	}
	tm, msm, err := spacemap.OpenMetadata(bm, sb[44:172])
	if err != nil {
		t.Fatal(err)
	}
	bs := bitset.New(tm)
	set := uint64(0)
	if err := bs.Walk(root, nrRegions, func(_ uint64, v bool) error {
		if v {
			set++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The image was left by the oracle's last clone table (hydration
	// interrupted): 891 regions, as an independent decode of the array
	// block counts.
	if nrRegions != 4096 || set != 891 {
		t.Fatalf("%d of %d regions hydrated, want 891 of 4096", set, nrRegions)
	}
	c, err := bs.NewCursor(root, nrRegions)
	if err != nil {
		t.Fatal(err)
	}
	cset := uint64(0)
	for c.Valid() {
		if c.Value() {
			cset++
		}
		if err := c.Next(); err != nil {
			t.Fatal(err)
		}
	}
	if cset != set {
		t.Fatalf("cursor counts %d set bits, walk %d", cset, set)
	}
	checkClone := func(root uint64, mroot spacemap.Root) {
		t.Helper()
		mc, err := spacemap.ReadCounts(dev, mroot, true)
		if err != nil {
			t.Fatal(err)
		}
		meta := make([]uint32, mroot.NrBlocks)
		meta[0]++
		for _, b := range mc.Blocks {
			meta[b]++
		}
		if err := pdatatest.CountTree(dev, root, 1, meta, meta, func(v []byte) uint64 { return binary.LittleEndian.Uint64(v) }); err != nil {
			t.Fatal(err)
		}
		if err := pdatatest.CompareCounts("metadata", meta, mc.Counts); err != nil {
			t.Fatal(err)
		}
	}
	checkClone(root, msm.Root())

	if root, err = bs.ClearBit(root, 100); err != nil {
		t.Fatal(err)
	}
	if root, err = bs.Flush(root); err != nil {
		t.Fatal(err)
	}
	if root, err = bs.Resize(root, nrRegions, 70000, false); err != nil {
		t.Fatal(err)
	}
	if err := tm.PreCommit(); err != nil {
		t.Fatal(err)
	}
	sbBlk, err := bm.WriteLock(0, cloneSB)
	if err != nil {
		t.Fatal(err)
	}
	msm.CopyRoot(sbBlk.Data()[44:172])
	binary.LittleEndian.PutUint64(sbBlk.Data()[188:], root)
	if err := tm.Commit(sbBlk); err != nil {
		t.Fatal(err)
	}
	checkClone(root, msm.Root())
	if v, _, err := bs.TestBit(root, 100); err != nil || v {
		t.Fatalf("bit 100 = %v, %v", v, err)
	}
}

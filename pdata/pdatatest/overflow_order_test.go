package pdatatest_test

import (
	"testing"

	"github.com/gdmsetup/gdmsetup/pdata/faultdev"
	"github.com/gdmsetup/gdmsetup/pdata/pdatatest"
)

// TestOverflowDecShadowsPathFirst: a count going from 3 to 2 leaves the
// data space map's ref-count tree. The kernel reaches the entry through
// btree_get_overwrite_leaf (the root and the leaf holding it shadowed)
// before dm_btree_remove rebalances it with its sibling, so when the entry
// is in the right leaf that leaf takes the lower new block and its sibling
// the next one (Linux 6.1 wrote the ref-count tree so in the fidelity
// scenario thin-shared-bytes). A count going from 4 to 3 is written in
// place in the shadowed leaf, splitting nothing.
func TestOverflowDecShadowsPathFirst(t *testing.T) {
	e, err := pdatatest.Format(faultdev.New(2048*4096), 1000, 1, 256)
	if err != nil {
		t.Fatal(err)
	}
	const n = 400 // two leaves of 336-entry nodes
	for b := uint64(0); b < n; b++ {
		for range 3 {
			if err := e.DSM.Inc(b); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := e.Commit(); err != nil {
		t.Fatal(err)
	}
	children := func() (left, right uint64) {
		t.Helper()
		root := node(t, e, e.DSM.Root().RefCountRoot)
		if root.IsLeaf() || root.NrEntries() != 2 {
			t.Fatalf("ref-count tree root: leaf %v, %d entries, want an internal node of 2", root.IsLeaf(), root.NrEntries())
		}
		return root.Value64(0), root.Value64(1)
	}
	if err := e.DSM.Dec(n - 1); err != nil {
		t.Fatal(err)
	}
	left, right := children()
	if right >= left {
		t.Errorf("after a 3 to 2 count in the right leaf: right leaf at block %d, left at %d; the kernel shadows the right one first", right, left)
	}
	if err := e.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := e.DSM.Inc(0); err != nil {
		t.Fatal(err)
	}
	if c, err := e.DSM.Count(0); err != nil || c != 4 {
		t.Fatalf("count of block 0 = %d, %v, want 4", c, err)
	}
	if err := e.DSM.Dec(0); err != nil {
		t.Fatal(err)
	}
	if c, err := e.DSM.Count(0); err != nil || c != 3 {
		t.Fatalf("count of block 0 = %d, %v, want 3", c, err)
	}
	if err := e.DSM.Dec(n - 1); err != nil {
		t.Fatal(err)
	}
	if c, err := e.DSM.Count(n - 1); err != nil || c != 1 {
		t.Fatalf("count of block %d = %d, %v, want 1", n-1, c, err)
	}
}

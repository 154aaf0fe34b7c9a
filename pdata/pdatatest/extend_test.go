package pdatatest_test

import (
	"testing"

	"github.com/gdmsetup/gdmsetup/pdata/faultdev"
	"github.com/gdmsetup/gdmsetup/pdata/pdatatest"
	"github.com/gdmsetup/gdmsetup/pdata/spacemap"
)

// TestExtend grows the metadata device across a bitmap boundary and the
// data space map, then fills the new space, checking counts after each commit.
func TestExtend(t *testing.T) {
	dev := faultdev.New(100 * 4096)
	e, err := pdatatest.Format(dev, 100, 1, 64)
	if err != nil {
		t.Fatal(err)
	}
	if free, _ := e.MSM.NrFree(); free == 0 || free > 300 {
		t.Fatalf("metadata free = %d", free)
	}
	newBlocks := uint64(spacemap.EntriesPerBitmap + 500)
	dev.Grow(int64(newBlocks) * 4096)
	if _, err := e.BM.Resize(); err != nil {
		t.Fatal(err)
	}
	if err := e.MSM.Extend(newBlocks - 100); err != nil {
		t.Fatal(err)
	}
	if err := e.DSM.Extend(spacemap.EntriesPerBitmap * 4); err != nil {
		t.Fatal(err)
	}
	if err := e.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := pdatatest.Check(dev); err != nil {
		t.Fatal(err)
	}
	if nr, _ := e.MSM.NrBlocks(); nr != newBlocks {
		t.Fatalf("metadata nr_blocks = %d, want %d", nr, newBlocks)
	}
	e, err = pdatatest.Open(dev, 64)
	if err != nil {
		t.Fatal(err)
	}
	for k := uint64(0); k < 60000; k++ {
		db, err := e.DSM.NewBlock()
		if err != nil {
			t.Fatal(err)
		}
		if e.Root, err = e.Info.Insert(e.Root, []uint64{k}, u64(db)); err != nil {
			t.Fatal(err)
		}
		if k%20000 == 19999 {
			if err := e.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := e.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := pdatatest.Check(dev); err != nil {
		t.Fatal(err)
	}
	if used := e.MSM.Root().NrAllocated; used < 150 {
		t.Fatalf("only %d metadata blocks used; the new area was not reached", used)
	}
	// The data space map holds 100+4*16320 blocks, 60000 of them used.
	free, _ := e.DSM.NrFree()
	if want := uint64(100 + 4*spacemap.EntriesPerBitmap - 60000); free != want {
		t.Fatalf("data free = %d, want %d", free, want)
	}
}

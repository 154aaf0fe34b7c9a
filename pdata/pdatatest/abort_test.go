package pdatatest_test

import (
	"errors"
	"testing"

	"github.com/gdmsetup/gdmsetup/pdata/btree"
	"github.com/gdmsetup/gdmsetup/pdata/faultdev"
	"github.com/gdmsetup/gdmsetup/pdata/pdatatest"
	"github.com/gdmsetup/gdmsetup/pdata/transaction"
)

// TestAbortAndReadOnlyClone: uncommitted changes vanish on abort + reopen,
// and a read-only clone reads committed trees but refuses every write.
func TestAbortAndReadOnlyClone(t *testing.T) {
	dev := faultdev.New(512 * 4096)
	e, err := pdatatest.Format(dev, 1000, 1, 16)
	if err != nil {
		t.Fatal(err)
	}
	for k := uint64(0); k < 500; k++ {
		db, _ := e.DSM.NewBlock()
		if e.Root, err = e.Info.Insert(e.Root, []uint64{k}, u64(db)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Commit(); err != nil {
		t.Fatal(err)
	}
	committed := contents(t, e)
	for k := uint64(0); k < 300; k++ {
		if e.Root, err = e.Info.Remove(e.Root, []uint64{k}); err != nil {
			t.Fatal(err)
		}
	}
	e.TM.Abort()
	e, err = pdatatest.Open(dev, 16)
	if err != nil {
		t.Fatal(err)
	}
	if !sameMap(contents(t, e), committed) {
		t.Fatal("abort did not restore the committed state")
	}

	ro := e.TM.ReadOnlyClone()
	info := btree.Info{TM: ro, Levels: 1, Value: btree.ValueType{Size: 8}}
	v := make([]byte, 8)
	if err := info.Lookup(e.Root, []uint64{7}, v); err != nil {
		t.Fatal(err)
	}
	if _, err := info.Insert(e.Root, []uint64{7}, v); !errors.Is(err, transaction.ErrReadOnly) {
		t.Fatalf("insert through a read-only clone: %v", err)
	}
	if err := pdatatest.Check(dev); err != nil {
		t.Fatal(err)
	}
}

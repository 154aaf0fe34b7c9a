package pdatatest_test

import (
	"encoding/binary"
	"sync"
	"testing"

	"github.com/gdmsetup/gdmsetup/pdata/btree"
	"github.com/gdmsetup/gdmsetup/pdata/faultdev"
	"github.com/gdmsetup/gdmsetup/pdata/pdatatest"
)

// TestConcurrentReaders runs lookups and walks from several goroutines
// through read-only clones while the cache (8 blocks) evicts constantly.
func TestConcurrentReaders(t *testing.T) {
	dev := faultdev.New(512 * 4096)
	e, err := pdatatest.Format(dev, 5000, 1, 8)
	if err != nil {
		t.Fatal(err)
	}
	for k := uint64(0); k < 3000; k++ {
		db, _ := e.DSM.NewBlock()
		if e.Root, err = e.Info.Insert(e.Root, []uint64{k}, u64(db)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Commit(); err != nil {
		t.Fatal(err)
	}
	want := contents(t, e)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			info := btree.Info{TM: e.TM.ReadOnlyClone(), Levels: 1, Value: btree.ValueType{Size: 8}}
			v := make([]byte, 8)
			for k := uint64(g); k < 3000; k += 3 {
				if err := info.Lookup(e.Root, []uint64{k}, v); err != nil {
					t.Error(err)
					return
				}
				if binary.LittleEndian.Uint64(v) != want[k] {
					t.Errorf("key %d = %d, want %d", k, binary.LittleEndian.Uint64(v), want[k])
					return
				}
			}
			n := 0
			if err := info.Walk(e.Root, func([]uint64, []byte) error { n++; return nil }); err != nil || n != len(want) {
				t.Errorf("walk: %d entries, %v", n, err)
			}
		}(g)
	}
	wg.Wait()
}

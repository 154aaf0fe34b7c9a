package btree_test

import (
	"encoding/binary"
	"errors"
	"math/rand"
	"slices"
	"testing"

	"github.com/gdmsetup/gdmsetup/pdata/btree"
	"github.com/gdmsetup/gdmsetup/pdata/faultdev"
	"github.com/gdmsetup/gdmsetup/pdata/pdatatest"
)

type mkey [2]uint64

// model mirrors a 2-level tree: device -> (virtual block -> data block).
type model map[uint64]map[uint64]uint64

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, v)
	return b
}

// topInfo is the top level seen alone: values are bottom-tree roots whose
// removal deletes the bottom tree (as dm-thin's subtree value type).
func topInfo(e *pdatatest.Env) btree.Info {
	bottom := btree.Info{TM: e.TM, Levels: 1, Value: e.Info.Value}
	return btree.Info{TM: e.TM, Levels: 1, Value: btree.ValueType{
		Size: 8,
		Inc:  func(v []byte) error { return e.TM.Inc(binary.LittleEndian.Uint64(v)) },
		Dec:  func(v []byte) error { return bottom.Del(binary.LittleEndian.Uint64(v)) },
	}}
}

func verify(t *testing.T, e *pdatatest.Env, m model) {
	t.Helper()
	var got []mkey
	err := e.Info.Walk(e.Root, func(keys []uint64, v []byte) error {
		k := mkey{keys[0], keys[1]}
		if want, ok := m[k[0]][k[1]]; !ok || want != binary.LittleEndian.Uint64(v) {
			t.Fatalf("walk: %v = %d, model has %d (present %v)", k, binary.LittleEndian.Uint64(v), want, ok)
		}
		got = append(got, k)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	buf := make([]byte, 8)
	for d, sub := range m {
		for vb, db := range sub {
			n++
			if err := e.Info.Lookup(e.Root, []uint64{d, vb}, buf); err != nil {
				t.Fatalf("lookup %d/%d: %v", d, vb, err)
			}
			if binary.LittleEndian.Uint64(buf) != db {
				t.Fatalf("lookup %d/%d = %d, want %d", d, vb, binary.LittleEndian.Uint64(buf), db)
			}
		}
	}
	if n != len(got) {
		t.Fatalf("walk found %d entries, model has %d", len(got), n)
	}
	if !slices.IsSortedFunc(got, func(a, b mkey) int {
		if a[0] != b[0] {
			return cmpU(a[0], b[0])
		}
		return cmpU(a[1], b[1])
	}) {
		t.Fatal("walk out of order")
	}
}

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestModel runs random inserts, overwrites, removes, range removes,
// snapshots and device deletes on a 2-level tree against a Go map,
// committing, checking every reference count and reopening as it goes.
func TestModel(t *testing.T) {
	steps := 30000
	if testing.Short() {
		steps = 6000
	}
	dev := faultdev.New(4096 * 4096)
	e, err := pdatatest.Format(dev, 200000, 2, 128)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	m := model{}
	devs := []uint64{}
	nextDev := uint64(0)
	for step := 0; step < steps; step++ {
		op := rng.Intn(1000)
		switch {
		case len(devs) == 0 || (op < 2 && len(devs) < 8):
			d := nextDev
			nextDev++
			root, err := e.Info.Empty()
			if err != nil {
				t.Fatal(err)
			}
			ti := topInfo(e)
			if e.Root, err = ti.Insert(e.Root, []uint64{d}, u64(root)); err != nil {
				t.Fatal(err)
			}
			m[d] = map[uint64]uint64{}
			devs = append(devs, d)
		case op < 4 && len(devs) < 8:
			// snapshot: share the bottom tree
			origin := devs[rng.Intn(len(devs))]
			d := nextDev
			nextDev++
			ti := topInfo(e)
			buf := make([]byte, 8)
			if err := ti.Lookup(e.Root, []uint64{origin}, buf); err != nil {
				t.Fatal(err)
			}
			if err := e.TM.Inc(binary.LittleEndian.Uint64(buf)); err != nil {
				t.Fatal(err)
			}
			if e.Root, err = ti.Insert(e.Root, []uint64{d}, buf); err != nil {
				t.Fatal(err)
			}
			m[d] = map[uint64]uint64{}
			for k, v := range m[origin] {
				m[d][k] = v
			}
			devs = append(devs, d)
		case op < 5 && len(devs) > 6:
			i := rng.Intn(len(devs))
			d := devs[i]
			ti := topInfo(e)
			if e.Root, err = ti.Remove(e.Root, []uint64{d}); err != nil {
				t.Fatal(err)
			}
			delete(m, d)
			devs = slices.Delete(devs, i, i+1)
		case op < 8:
			d := devs[rng.Intn(len(devs))]
			first := uint64(rng.Intn(20000))
			end := first + uint64(rng.Intn(300))
			root, n, err := e.Info.RemoveRange(e.Root, []uint64{d, 0}, first, end)
			if err != nil {
				t.Fatal(err)
			}
			e.Root = root
			want := uint64(0)
			for k := range m[d] {
				if k >= first && k < end {
					delete(m[d], k)
					want++
				}
			}
			if n != want {
				t.Fatalf("RemoveRange removed %d, want %d", n, want)
			}
		case op < 250:
			d := devs[rng.Intn(len(devs))]
			var vb uint64
			for vb = range m[d] {
				break
			}
			if len(m[d]) == 0 {
				continue
			}
			if e.Root, err = e.Info.Remove(e.Root, []uint64{d, vb}); err != nil {
				t.Fatalf("step %d remove %d/%d: %v", step, d, vb, err)
			}
			delete(m[d], vb)
		default:
			d := devs[rng.Intn(len(devs))]
			vb := uint64(rng.Intn(20000))
			if rng.Intn(4) == 0 {
				vb = uint64(len(m[d]) + 20000) // sequential tail
			}
			db, err := e.DSM.NewBlock()
			if err != nil {
				t.Fatal(err)
			}
			if e.Root, err = e.Info.Insert(e.Root, []uint64{d, vb}, u64(db)); err != nil {
				t.Fatalf("step %d insert: %v", step, err)
			}
			m[d][vb] = db
		}
		if step%997 == 996 {
			if err := e.Commit(); err != nil {
				t.Fatal(err)
			}
			if err := pdatatest.Check(dev); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			verify(t, e, m)
			if rng.Intn(3) == 0 {
				if e, err = pdatatest.Open(dev, 64); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := e.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := pdatatest.Check(dev); err != nil {
		t.Fatal(err)
	}
	verify(t, e, m)
	total := 0
	for _, sub := range m {
		total += len(sub)
	}
	t.Logf("%d devices, %d mappings, %d metadata blocks allocated", len(m), total, e.MSM.Root().NrAllocated)
	if e.BM.Cached() > 2*128 {
		t.Fatalf("cache holds %d blocks, bound 128", e.BM.Cached())
	}
}

func TestLookupNextAndHighest(t *testing.T) {
	dev := faultdev.New(1024 * 4096)
	e, err := pdatatest.Format(dev, 10000, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	if _, err := e.Info.FindHighestKey(e.Root, []uint64{0}); !errors.Is(err, btree.ErrNotFound) {
		t.Fatalf("empty tree highest: %v", err)
	}
	for k := uint64(0); k < 3000; k++ {
		db, err := e.DSM.NewBlock()
		if err != nil {
			t.Fatal(err)
		}
		if e.Root, err = e.Info.Insert(e.Root, []uint64{k * 3}, u64(db)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ from, want uint64 }{{0, 0}, {1, 3}, {3, 3}, {4, 6}, {8996, 8997}} {
		k, err := e.Info.LookupNext(e.Root, []uint64{c.from}, buf)
		if err != nil || k != c.want {
			t.Fatalf("LookupNext(%d) = %d, %v; want %d", c.from, k, err, c.want)
		}
	}
	if _, err := e.Info.LookupNext(e.Root, []uint64{8998}, buf); !errors.Is(err, btree.ErrNotFound) {
		t.Fatalf("LookupNext past end: %v", err)
	}
	if k, err := e.Info.FindHighestKey(e.Root, []uint64{0}); err != nil || k != 8997 {
		t.Fatalf("highest = %d, %v", k, err)
	}
	if k, err := e.Info.FindLowestKey(e.Root, []uint64{0}); err != nil || k != 0 {
		t.Fatalf("lowest = %d, %v", k, err)
	}
	if err := e.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := pdatatest.Check(dev); err != nil {
		t.Fatal(err)
	}
}

// TestBigTree grows a single-level tree to three levels of nodes with
// random and sequential keys, then removes most of it, checking reference
// counts and fill rules at every commit.
func TestBigTree(t *testing.T) {
	n := 60000
	if testing.Short() {
		n = 15000
	}
	dev := faultdev.New(8192 * 4096)
	e, err := pdatatest.Format(dev, uint64(2*n), 1, 256)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(2))
	m := map[uint64]uint64{}
	keys := rng.Perm(n)
	for i, k := range keys {
		key := uint64(k)
		if i%2 == 0 {
			key = uint64(n + i) // sequential half
		}
		db, err := e.DSM.NewBlock()
		if err != nil {
			t.Fatal(err)
		}
		if e.Root, err = e.Info.Insert(e.Root, []uint64{key}, u64(db)); err != nil {
			t.Fatal(err)
		}
		m[key] = db
		if i%5000 == 4999 {
			if err := e.Commit(); err != nil {
				t.Fatal(err)
			}
			if err := pdatatest.Check(dev); err != nil {
				t.Fatalf("after %d inserts: %v", i+1, err)
			}
		}
	}
	all := make([]uint64, 0, len(m))
	for k := range m {
		all = append(all, k)
	}
	slices.Sort(all)
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	for i, k := range all[:len(all)*9/10] {
		if e.Root, err = e.Info.Remove(e.Root, []uint64{k}); err != nil {
			t.Fatalf("remove %d: %v", k, err)
		}
		delete(m, k)
		if i%5000 == 4999 {
			if err := e.Commit(); err != nil {
				t.Fatal(err)
			}
			if err := pdatatest.Check(dev); err != nil {
				t.Fatalf("after %d removes: %v", i+1, err)
			}
		}
	}
	if _, err := e.Info.Remove(e.Root, []uint64{1 << 40}); !errors.Is(err, btree.ErrNotFound) {
		t.Fatalf("remove absent key: %v", err)
	}
	if err := e.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := pdatatest.Check(dev); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	for k, db := range m {
		if err := e.Info.Lookup(e.Root, []uint64{k}, buf); err != nil || binary.LittleEndian.Uint64(buf) != db {
			t.Fatalf("lookup %d: %v", k, err)
		}
	}
	if err := e.Info.Del(e.Root); err != nil {
		t.Fatal(err)
	}
	if e.Root, err = e.Info.Empty(); err != nil {
		t.Fatal(err)
	}
	if err := e.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := pdatatest.Check(dev); err != nil {
		t.Fatalf("after Del: %v", err)
	}
	if a := e.DSM.NrAllocated(); a != 0 {
		t.Fatalf("%d data blocks still allocated after Del", a)
	}
}

// TestRemoveRange removes ranges that start before the first key, span
// many leaves, fall between keys and run past the last key.
func TestRemoveRange(t *testing.T) {
	dev := faultdev.New(2048 * 4096)
	e, err := pdatatest.Format(dev, 30000, 2, 64)
	if err != nil {
		t.Fatal(err)
	}
	m := map[uint64]uint64{}
	for k := uint64(100); k < 20100; k += 2 {
		db, err := e.DSM.NewBlock()
		if err != nil {
			t.Fatal(err)
		}
		if e.Root, err = e.Info.Insert(e.Root, []uint64{9, k}, u64(db)); err != nil {
			t.Fatal(err)
		}
		m[k] = db
	}
	for _, r := range [][2]uint64{{0, 150}, {1001, 1002}, {5000, 15001}, {19990, 1 << 40}, {0, 1 << 62}} {
		root, n, err := e.Info.RemoveRange(e.Root, []uint64{9, 0}, r[0], r[1])
		if err != nil {
			t.Fatalf("range %v: %v", r, err)
		}
		e.Root = root
		want := uint64(0)
		for k := range m {
			if k >= r[0] && k < r[1] {
				delete(m, k)
				want++
			}
		}
		if n != want {
			t.Fatalf("range %v removed %d, want %d", r, n, want)
		}
		if err := e.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := pdatatest.Check(dev); err != nil {
			t.Fatalf("range %v: %v", r, err)
		}
		verify(t, e, model{9: m})
	}
	if _, _, err := e.Info.RemoveRange(e.Root, []uint64{8, 0}, 0, 10); !errors.Is(err, btree.ErrNotFound) && err != nil {
		t.Fatalf("absent subtree: %v", err)
	}
}

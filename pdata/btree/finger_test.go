package btree_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand"
	"testing"

	"github.com/gdmsetup/gdmsetup/pdata/btree"
	"github.com/gdmsetup/gdmsetup/pdata/faultdev"
	"github.com/gdmsetup/gdmsetup/pdata/pdatatest"
)

// fingerWorkload runs runs of appends and inserts just behind them, random
// inserts, overwrites, removes, snapshots and commits on a 2-level tree.
// With fresh, every insert goes through a new Info (no finger: a full
// descent each time); otherwise through e.Info, whose finger lets inserts
// into the last leaf's range skip the descent. Values of valueSize > 8
// bytes (no reference counting) make leaves of a few entries, so internal
// nodes fill up. It returns the image after the last commit.
func fingerWorkload(t *testing.T, fresh bool, valueSize, steps int) []byte {
	t.Helper()
	dev := faultdev.New(16384 * 4096)
	e, err := pdatatest.Format(dev, 400000, 2, 64)
	if err != nil {
		t.Fatal(err)
	}
	if valueSize != 8 {
		e.Info.Value = btree.ValueType{Size: valueSize}
	}
	value := func() []byte {
		db, _ := e.DSM.NewBlock()
		return append(u64(db), make([]byte, valueSize-8)...)
	}
	insert := func(keys []uint64, v []byte) {
		info := &e.Info
		if fresh {
			info = &btree.Info{TM: e.TM, Levels: e.Info.Levels, Value: e.Info.Value}
		}
		if e.Root, err = info.Insert(e.Root, keys, v); err != nil {
			t.Fatalf("insert %v: %v", keys, err)
		}
	}
	ti := topInfo(e)
	devs := 1
	bottom := btree.Info{TM: e.TM, Levels: 1, Value: e.Info.Value}
	root, _ := bottom.Empty()
	if e.Root, err = ti.Insert(e.Root, []uint64{0}, u64(root)); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(7))
	next := make([]uint64, 8)
	for step := 0; step < steps; step++ {
		d := uint64(rng.Intn(devs))
		switch op := rng.Intn(1000); {
		case op < 3 && devs < 8:
			buf := make([]byte, 8)
			if err := ti.Lookup(e.Root, []uint64{d}, buf); err != nil {
				t.Fatal(err)
			}
			if e.Root, err = ti.Insert(e.Root, []uint64{uint64(devs)}, buf); err != nil {
				t.Fatal(err)
			}
			// The snapshot's reference is counted only after an insert
			// into the origin: the finger that insert leaves must not
			// let the next one write the now shared leaf in place.
			for i := 0; i < 2; i++ {
				insert([]uint64{d, next[d]}, value())
				next[d]++
				if i == 0 {
					if err := e.TM.Inc(binary.LittleEndian.Uint64(buf)); err != nil {
						t.Fatal(err)
					}
					next[devs] = next[d]
				}
			}
			devs++
		case op < 60:
			vb := uint64(rng.Intn(int(next[d]) + 1))
			e.Root, err = e.Info.Remove(e.Root, []uint64{d, vb})
			if err != nil && !errors.Is(err, btree.ErrNotFound) {
				t.Fatal(err)
			}
		case op < 80:
			if err := e.Commit(); err != nil {
				t.Fatal(err)
			}
		case op < 200:
			insert([]uint64{d, uint64(rng.Intn(int(next[d]) + 1))}, value())
		default:
			// A run of appends (and a few overwrites) into one device.
			for i := rng.Intn(100); i > 0; i-- {
				vb := next[d]
				if back := uint64(rng.Intn(400)); rng.Intn(8) == 0 && back < vb {
					vb -= back // just behind the tail: maybe another leaf
				} else {
					next[d]++
				}
				insert([]uint64{d, vb}, value())
			}
		}
	}
	if err := e.Commit(); err != nil {
		t.Fatal(err)
	}
	if valueSize == 8 {
		if err := pdatatest.Check(dev); err != nil {
			t.Fatal(err)
		}
	}
	return dev.Image()
}

// TestFingerWritesWhatADescentWrites requires the insert finger to leave
// the metadata byte for byte as full descents do, through snapshots
// (shared leaves), removes and commits.
func TestFingerWritesWhatADescentWrites(t *testing.T) {
	for _, c := range []struct{ valueSize, steps int }{{8, 3000}, {1024, 300}} {
		with, without := fingerWorkload(t, false, c.valueSize, c.steps), fingerWorkload(t, true, c.valueSize, c.steps)
		for off := 0; off < len(with); off += 4096 {
			if !bytes.Equal(with[off:off+4096], without[off:off+4096]) {
				t.Fatalf("%d-byte values: images differ first at block %d", c.valueSize, off/4096)
			}
		}
	}
}

package pdatatest_test

import (
	"encoding/binary"
	"errors"
	"math/rand"
	"testing"

	"github.com/gdmsetup/gdmsetup/pdata/faultdev"
	"github.com/gdmsetup/gdmsetup/pdata/pdatatest"
)

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, v)
	return b
}

// mutate applies a deterministic batch of inserts, overwrites and removes
// to a 1-level tree and returns the resulting model.
func mutate(e *pdatatest.Env, seed int64, m map[uint64]uint64) (map[uint64]uint64, error) {
	out := make(map[uint64]uint64, len(m))
	for k, v := range m {
		out[k] = v
	}
	rng := rand.New(rand.NewSource(seed))
	var err error
	for i := 0; i < 3000; i++ {
		k := uint64(rng.Intn(30000))
		if _, ok := out[k]; ok && rng.Intn(3) == 0 {
			if e.Root, err = e.Info.Remove(e.Root, []uint64{k}); err != nil {
				return nil, err
			}
			delete(out, k)
			continue
		}
		db, err := e.DSM.NewBlock()
		if err != nil {
			return nil, err
		}
		if e.Root, err = e.Info.Insert(e.Root, []uint64{k}, u64(db)); err != nil {
			return nil, err
		}
		out[k] = db
	}
	return out, nil
}

func contents(t *testing.T, e *pdatatest.Env) map[uint64]uint64 {
	t.Helper()
	got := map[uint64]uint64{}
	if err := e.Info.Walk(e.Root, func(k []uint64, v []byte) error {
		got[k[0]] = binary.LittleEndian.Uint64(v)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func sameMap(a, b map[uint64]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestCrashAtEveryWrite stops the device at every block write of a
// transaction (including cache write-backs before the commit), simulates a
// power loss (unsynced writes lost) and a process crash (all completed
// writes kept), reopens, and requires exactly the old or the new state with
// every reference count right.
func TestCrashAtEveryWrite(t *testing.T) {
	base := faultdev.New(2048 * 4096)
	e, err := pdatatest.Format(base, 100000, 1, 24)
	if err != nil {
		t.Fatal(err)
	}
	old, err := mutate(e, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Commit(); err != nil {
		t.Fatal(err)
	}
	image := base.Image()

	// Measure the writes of a clean run.
	dev := faultdev.FromImage(image)
	e, err = pdatatest.Open(dev, 24)
	if err != nil {
		t.Fatal(err)
	}
	start := dev.Writes()
	want, err := mutate(e, 2, old)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Commit(); err != nil {
		t.Fatal(err)
	}
	total := dev.Writes() - start
	t.Logf("%d block writes in the transaction", total)
	if total < 10 {
		t.Fatalf("only %d writes in the transaction", total)
	}
	stride := 1
	if testing.Short() {
		stride = max(1, total/40)
	}
	for k := 0; k <= total; k += stride {
		for _, keep := range []bool{false, true} {
			dev := faultdev.FromImage(image)
			e, err := pdatatest.Open(dev, 24)
			if err != nil {
				t.Fatal(err)
			}
			dev.FailAfterWrites(k)
			_, err = mutate(e, 2, old)
			if err == nil {
				err = e.Commit()
			}
			if k < total && !errors.Is(err, faultdev.ErrInjected) {
				t.Fatalf("write %d/%d: transaction did not fail: %v", k, total, err)
			}
			after := dev.Crash(keep)
			if err := pdatatest.Check(after); err != nil {
				t.Fatalf("crash at write %d/%d (keep unsynced %v): %v", k, total, keep, err)
			}
			re, err := pdatatest.Open(after, 24)
			if err != nil {
				t.Fatalf("crash at write %d/%d: reopen: %v", k, total, err)
			}
			got := contents(t, re)
			switch {
			case sameMap(got, old):
			case sameMap(got, want):
				if k < total && !keep {
					t.Fatalf("crash at write %d/%d: new state visible before the commit completed", k, total)
				}
			default:
				t.Fatalf("crash at write %d/%d (keep %v): neither old nor new state (%d entries)", k, total, keep, len(got))
			}
		}
	}
}

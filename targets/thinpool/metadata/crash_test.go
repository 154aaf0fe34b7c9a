package metadata

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/pdata/faultdev"
)

// crashWorkload is the transaction whose commit is interrupted.
func crashWorkload(t *testing.T, p *Pool) error {
	t.Helper()
	if err := p.CreateSnap(10, 1); err != nil {
		return err
	}
	for _, id := range []uint64{1, 3} {
		th, err := p.OpenThin(id)
		if err != nil {
			return err
		}
		for i := uint64(0); i < 9000; i += 7 {
			b, err := p.AllocDataBlock()
			if err != nil {
				return err
			}
			if err := th.InsertBlock(i, b); err != nil {
				return err
			}
		}
		th.Close()
	}
	th, err := p.OpenThin(1)
	if err != nil {
		return err
	}
	defer th.Close()
	if err := th.RemoveRange(1000, 1400); err != nil {
		return err
	}
	if err := p.Delete(2); err != nil {
		return err
	}
	if err := p.SetTransactionID(1, 2); err != nil {
		return err
	}
	return p.Commit()
}

// dumpImage opens a metadata image read-only and dumps it.
func dumpImage(t *testing.T, img []byte) []byte {
	t.Helper()
	p, err := Open(faultdev.FromImage(img), Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	return ourDump(t, p)
}

// checkImage runs the real thin_check and our checker on an image.
func checkImage(t *testing.T, img []byte, what string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "meta")
	if err := os.WriteFile(path, img, 0o600); err != nil {
		t.Fatal(err)
	}
	thinCheck(t, path)
	if errs := CheckFile(t, path); len(errs) != 0 {
		t.Fatalf("%s: our checker: %v", what, errs)
	}
}

func TestCrashDuringCommit(t *testing.T) {
	dmtest.Peer(t, "thin_check")
	// Base state: committed pool with three devices and a metadata snapshot.
	f, base := newMetaFile(t, 2048)
	p, err := Format(f, 2048, 128, 40000, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for id := uint64(1); id <= 3; id++ {
		if err := p.CreateThin(id); err != nil {
			t.Fatal(err)
		}
		th, _ := p.OpenThin(id)
		for i := uint64(0); i < 6000; i++ {
			b, _ := p.AllocDataBlock()
			if err := th.InsertBlock(i, b); err != nil {
				t.Fatal(err)
			}
		}
		th.Close()
	}
	if err := p.SetTransactionID(0, 1); err != nil {
		t.Fatal(err)
	}
	if err := p.ReserveMetadataSnap(); err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	image, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	oldDump := dumpImage(t, image)
	// run replays the workload on a copy of the base image whose writes fail after
	// budget more (budget < 0: never).
	run := func(budget int) (*faultdev.Device, error) {
		dev := faultdev.FromImage(image)
		dev.FailAfterWrites(budget)
		p, err := Open(dev, Options{CacheBlocks: 64})
		if err != nil {
			t.Fatal(err)
		}
		return dev, crashWorkload(t, p)
	}
	full, err := run(-1)
	if err != nil {
		t.Fatal(err)
	}
	newDump := dumpImage(t, full.Image())
	if bytes.Equal(oldDump, newDump) {
		t.Fatal("workload changed nothing")
	}
	// Cache eviction order varies between runs, so raise the budget until the
	// transaction completes. At each stop, the machine loses power either keeping
	// or dropping the writes not yet synced.
	step := 1
	if testing.Short() {
		step = 5
	}
	for budget := 0; budget < 100000; budget += step {
		dev, err := run(budget)
		for _, keep := range []bool{true, false} {
			img := dev.Crash(keep).Image()
			got := dumpImage(t, img)
			old, cur := bytes.Equal(got, oldDump), bytes.Equal(got, newDump)
			switch {
			case err == nil && !cur:
				t.Fatalf("budget %d: commit succeeded but the metadata is not the new state", budget)
			case !old && !cur:
				t.Fatalf("budget %d (unsynced writes kept: %v): metadata is neither the old nor the new commit", budget, keep)
			}
			checkImage(t, img, fmt.Sprintf("budget %d", budget))
		}
		if err == nil {
			t.Logf("the transaction completed with %d writes allowed", budget)
			return
		}
	}
	t.Fatal("the transaction never completed")
}

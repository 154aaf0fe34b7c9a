package metadata

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/gdmsetup/gdmsetup/pdata/block"
)

// faultDev passes writes through to a file until its budget is used up; later
// writes and syncs fail, as if the machine stopped at that point.
type faultDev struct {
	f          *os.File
	writesLeft int // -1: unlimited
	writes     int
}

var errInjected = errors.New("injected write failure")

func (d *faultDev) ReadAt(b []byte, off int64) (int, error) { return d.f.ReadAt(b, off) }

func (d *faultDev) WriteAt(b []byte, off int64) (int, error) {
	if d.writesLeft == 0 {
		return 0, errInjected
	}
	if d.writesLeft > 0 {
		d.writesLeft--
	}
	d.writes++
	return d.f.WriteAt(b, off)
}

func (d *faultDev) SizeBytes() (int64, error) {
	st, err := d.f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func (d *faultDev) Sync() error {
	if d.writesLeft == 0 {
		return errInjected
	}
	return d.f.Sync()
}

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

func dumpFile(t *testing.T, path string) []byte {
	t.Helper()
	f, err := block.OpenFile(path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := Open(f, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	return ourDump(t, p)
}

func TestCrashDuringCommit(t *testing.T) {
	needTool(t, "thin_check")
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
	oldDump := dumpFile(t, base)
	image, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	run := func(budget int) (*faultDev, string, error) {
		path := t.TempDir() + "/meta"
		if err := os.WriteFile(path, image, 0o600); err != nil {
			t.Fatal(err)
		}
		file, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { file.Close() })
		dev := &faultDev{f: file, writesLeft: budget}
		p, err := Open(dev, Options{CacheBlocks: 64})
		if err != nil {
			t.Fatal(err)
		}
		return dev, path, crashWorkload(t, p)
	}
	full, newPath, err := run(-1)
	if err != nil {
		t.Fatal(err)
	}
	newDump := dumpFile(t, newPath)
	if bytes.Equal(oldDump, newDump) {
		t.Fatal("workload changed nothing")
	}
	t.Logf("the transaction writes %d blocks (some early, when the cache is full)", full.writes)
	// Cache eviction order varies, so a run may need a few more writes than the
	// first: raise the budget until the transaction completes.
	step := 1
	if testing.Short() {
		step = 5
	}
	for budget := 0; budget <= 4*full.writes; budget += step {
		_, path, err := run(budget)
		got := dumpFile(t, path)
		old, cur := bytes.Equal(got, oldDump), bytes.Equal(got, newDump)
		switch {
		case err == nil && !cur:
			t.Fatalf("budget %d: commit succeeded but the metadata is not the new state", budget)
		case !old && !cur:
			t.Fatalf("budget %d: metadata is neither the old nor the new commit", budget)
		}
		thinCheck(t, path)
		if errs := CheckFile(t, path); len(errs) != 0 {
			t.Fatalf("budget %d: our checker: %v", budget, errs)
		}
		if err == nil {
			return
		}
	}
	t.Fatal("the transaction never completed")
}

package thin_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// TestFlushCommitsOnlyItsChangedDevice checks the kernel's rule for a flush
// through a thin device (bio_triggers_commit): it commits the pool only
// when that device changed in the current transaction. A flush through
// another device leaves the metadata device as it was; the changed
// device's own flush commits.
func TestFlushCommitsOnlyItsChangedDevice(t *testing.T) {
	e := newPool(t, 1024, "")
	for _, id := range []string{"0", "1"} {
		if err := e.message("create_thin", id); err != nil {
			t.Fatal(err)
		}
	}
	t0, t1 := e.activate(0), e.activate(1)
	if _, err := e.reg.Lines("pool", false, true); err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(e.meta)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := t1.WriteAt(make([]byte, blockBytes), 0); err != nil {
		t.Fatal(err)
	}
	if err := t0.Flush(); err != nil {
		t.Fatal(err)
	}
	if now, _ := os.ReadFile(e.meta); !bytes.Equal(now, committed) {
		t.Fatal("a flush through an unchanged thin device committed another device's mapping")
	}
	if err := t1.Flush(); err != nil {
		t.Fatal(err)
	}
	if now, _ := os.ReadFile(e.meta); bytes.Equal(now, committed) {
		t.Fatal("a flush through the changed thin device did not commit")
	}
}

// TestFlushInFailModeFails: once the pool's metadata device fails under
// it so that even the abort to the last commit fails, the pool is in fail
// mode and a flush through a thin device gets EIO, as every other bio
// (thin_bio_map), instead of flushing the data device.
func TestFlushInFailModeFails(t *testing.T) {
	reg, t0 := failedPool(t)
	lines, err := reg.Lines("pool", false, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || lines[0].Params != "Fail" {
		t.Fatalf("pool status %+v after its metadata device failed, want Fail", lines)
	}
	if err := t0.Flush(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("flush through a thin device of a failed pool: %v, want EIO", err)
	}
}

// failedPool is a pool in fail mode, its metadata device ("lmeta", a
// linear device) replaced by an error table after a write through its
// thin device 0 (returned) was committed, then written to again.
func failedPool(t *testing.T) (*dm.Registry, *dm.Device) {
	t.Helper()
	dir := t.TempDir()
	meta, data := filepath.Join(dir, "meta.img"), filepath.Join(dir, "data.img")
	dmtest.Sparse(t, meta, 4<<20)
	dmtest.Sparse(t, data, 64*blockBytes)
	reg, err := dm.Open(filepath.Join(dir, "state"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	metaLine := func(typ string, args ...string) []dm.TargetLine {
		return []dm.TargetLine{{Len: 8192, Type: typ, Args: args}}
	}
	must(reg.Create("lmeta", "", metaLine("linear", meta, "0"), false))
	must(reg.Create("pool", "", []dm.TargetLine{{Len: 64 * blockSectors, Type: "thin-pool", Args: []string{"/dev/mapper/lmeta", data, strconv.Itoa(blockSectors), "0"}}}, false))
	e := &poolEnv{t: t, dir: dir, meta: meta, reg: reg}
	must(e.message("create_thin", "0"))
	t0 := e.activate(0)
	_, err = t0.WriteAt(make([]byte, blockBytes), 0)
	must(err)
	must(t0.Flush())

	must(reg.Load("lmeta", metaLine("error")))
	must(reg.Resume("lmeta"))
	t0.WriteAt(make([]byte, blockBytes), blockBytes)
	t0.Flush()
	return reg, t0
}

package thin_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// TestFUAOrderIsTheKernels replays testdata/fua-oracle.sh: a thin pool
// whose data device is a log-writes device takes plain and FUA writes (each
// FUA write followed by the flush O_DSYNC sends, as dd oflag=direct,dsync
// does) into a block mapped in the open transaction, part of an
// unprovisioned block, a whole one, and a mapped block with nothing to
// commit. Linux 6.1 commits before the FUA write in the first two cases and
// after it in the third; the log device it wrote (testdata/kernel-fua.log.gz)
// records that order, and gdmsetup's log entries must be the same bytes,
// with the same log-writes status after each step.
func TestFUAOrderIsTheKernels(t *testing.T) {
	dir := t.TempDir()
	meta, data, logDev := filepath.Join(dir, "meta.img"), filepath.Join(dir, "data.img"), filepath.Join(dir, "log.img")
	dmtest.Sparse(t, meta, 4<<20)
	dmtest.Sparse(t, data, 1<<20)
	dmtest.Sparse(t, logDev, 256<<10)
	reg, err := dm.Open(filepath.Join(dir, "state"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	create := func(name, typ string, args ...string) *dm.Device {
		t.Helper()
		if err := reg.Create(name, "", []dm.TargetLine{{Len: 2048, Type: typ, Args: args}}, false); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		d, _ := reg.Lookup(name)
		if err := d.Prepare(); err != nil {
			t.Fatal(err)
		}
		return d
	}
	create("lw", "log-writes", data, logDev)
	create("pool", "thin-pool", meta, "/dev/mapper/lw", "128", "0", "1", "skip_block_zeroing")
	if _, err := reg.Message("pool", 0, []string{"create_thin", "0"}); err != nil {
		t.Fatal(err)
	}
	thin := create("thin", "thin", "/dev/mapper/pool", "0")
	a := []byte(strings.Repeat("thin-plain\n", 6000)[:65536])
	b := []byte(strings.Repeat("thin-fua\n", 8000)[:65536])
	dsync := func(p []byte, off int64) {
		t.Helper()
		if _, err := thin.WriteFUA(p, off); err != nil {
			t.Fatalf("FUA write at %d: %v", off, err)
		}
		if err := thin.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	status := func(want string) {
		t.Helper()
		lines, err := reg.Lines("lw", false, true)
		if err != nil {
			t.Fatal(err)
		}
		if got := lines[0].Params; got != want {
			t.Fatalf("log-writes status %q, the kernel's %q", got, want)
		}
	}
	if _, err := thin.WriteAt(a[:4096], 16*4096); err != nil {
		t.Fatal(err)
	}
	dsync(b[:4096], 17*4096)
	status("6 22")
	dsync(b[:4096], 50*4096)
	status("9 33")
	dsync(b, 5*65536)
	status("12 164")
	dsync(a[:4096], 81*4096)
	status("14 174")
	// the kernel's pool status commits: the data device is flushed
	if lines, err := reg.Lines("pool", false, true); err != nil || lines[0].Params != "0 112/1024 3/16 - rw discard_passdown queue_if_no_space - 256 " {
		t.Fatalf("pool status %v %v", lines, err)
	}
	status("15 175")
	for _, name := range []string{"thin", "pool", "lw"} {
		if err := reg.Remove(name); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(logDev)
	if err != nil {
		t.Fatal(err)
	}
	// the entries up to the pool status's flush (sectors 1-174); at removal
	// the kernel's pool flushes the data device twice (pool_postsuspend's
	// commit, then dm_pool_metadata_close's, which flushes even with
	// nothing to commit), gdmsetup's once
	want := dmtest.GunzipBytes(t, "testdata/kernel-fua.log.gz")
	const endBytes = 175 * 512
	if !bytes.Equal(got[512:endBytes], want[512:endBytes]) {
		for i := 512; i < endBytes; i++ {
			if got[i] != want[i] {
				t.Fatalf("the log device differs from the kernel's from byte %d (sector %d)", i, i/512)
			}
		}
	}
}

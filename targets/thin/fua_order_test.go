package thin_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// fuaRig is the stack of testdata/fua*-oracle.sh: a thin device of a pool
// whose data device (1 MiB) is a log-writes device, so the log records the
// order of data writes, FUA writes and flushes (a commit flushes the data
// device first).
type fuaRig struct {
	t      *testing.T
	reg    *dm.Registry
	thin   *dm.Device
	logDev string
	// a and b are the scripts' data: `yes thin-plain` and `yes thin-fua`
	a, b []byte
}

// newFUARig creates lw (log-writes, a log of logBytes), pool (a thin-pool
// of 64 KiB blocks on lw, with the features given) and thin (device 0).
func newFUARig(t *testing.T, logBytes int64, features ...string) *fuaRig {
	dir := t.TempDir()
	meta, data, logDev := filepath.Join(dir, "meta.img"), filepath.Join(dir, "data.img"), filepath.Join(dir, "log.img")
	dmtest.Sparse(t, meta, 4<<20)
	dmtest.Sparse(t, data, 1<<20)
	dmtest.Sparse(t, logDev, logBytes)
	reg, err := dm.Open(filepath.Join(dir, "state"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	g := &fuaRig{t: t, reg: reg, logDev: logDev,
		a: []byte(strings.Repeat("thin-plain\n", 6000)[:65536]),
		b: []byte(strings.Repeat("thin-fua\n", 8000)[:65536])}
	g.create("lw", "log-writes", data, logDev)
	poolArgs := append([]string{meta, "/dev/mapper/lw", "128", "0"}, strconv.Itoa(len(features)))
	g.create("pool", "thin-pool", append(poolArgs, features...)...)
	g.message("create_thin 0")
	g.thin = g.create("thin", "thin", "/dev/mapper/pool", "0")
	return g
}

func (g *fuaRig) create(name, typ string, args ...string) *dm.Device {
	g.t.Helper()
	if err := g.reg.Create(name, "", []dm.TargetLine{{Len: 2048, Type: typ, Args: args}}, false); err != nil {
		g.t.Fatalf("create %s: %v", name, err)
	}
	d, _ := g.reg.Lookup(name)
	if err := d.Prepare(); err != nil {
		g.t.Fatal(err)
	}
	return d
}

// message sends a message to the pool.
func (g *fuaRig) message(msg string) {
	g.t.Helper()
	if _, err := g.reg.Message("pool", 0, strings.Fields(msg)); err != nil {
		g.t.Fatalf("message %q: %v", msg, err)
	}
}

// write is dd oflag=direct: p written at offBytes of thin.
func (g *fuaRig) write(p []byte, offBytes int64) {
	g.t.Helper()
	if _, err := g.thin.WriteAt(p, offBytes); err != nil {
		g.t.Fatalf("write at %d: %v", offBytes, err)
	}
}

// dsync is dd oflag=direct,dsync: a FUA write, then the flush O_DSYNC sends.
func (g *fuaRig) dsync(p []byte, offBytes int64) {
	g.t.Helper()
	if _, err := g.thin.WriteFUA(p, offBytes); err != nil {
		g.t.Fatalf("FUA write at %d: %v", offBytes, err)
	}
	if err := g.thin.Flush(); err != nil {
		g.t.Fatal(err)
	}
}

// status checks the status line of a device (the kernel's pool status
// commits: a flush of the data device once the pool is in service).
func (g *fuaRig) status(name, want string) {
	g.t.Helper()
	lines, err := g.reg.Lines(name, false, true)
	if err != nil {
		g.t.Fatal(err)
	}
	if got := lines[0].Params; got != want {
		g.t.Fatalf("%s status %q, the kernel's %q", name, got, want)
	}
}

// removeAndCompare removes thin, pool and lw, then compares the log device
// with the kernel's (gzipped in testdata), byte for byte. At removal the
// pool flushes the data device twice, as the kernel's does:
// pool_postsuspend's commit, then dm_pool_metadata_close's, which flushes
// with nothing to commit once the pool is in service.
func (g *fuaRig) removeAndCompare(kernelLog string) {
	g.t.Helper()
	for _, name := range []string{"thin", "pool", "lw"} {
		if err := g.reg.Remove(name); err != nil {
			g.t.Fatal(err)
		}
	}
	got, err := os.ReadFile(g.logDev)
	if err != nil {
		g.t.Fatal(err)
	}
	want := dmtest.GunzipBytes(g.t, kernelLog)
	if len(got) != len(want) {
		g.t.Fatalf("log device of %d bytes, the kernel's %d", len(got), len(want))
	}
	if !bytes.Equal(got, want) {
		for i := range want {
			if got[i] != want[i] {
				g.t.Fatalf("the log device differs from the kernel's %s from byte %d (sector %d)", kernelLog, i, i/512)
			}
		}
	}
}

// TestFUAOrderIsTheKernels replays testdata/fua-oracle.sh (the pool with
// skip_block_zeroing): FUA writes into a block mapped in the open
// transaction, part of an unprovisioned block, a whole one, and a mapped
// block with nothing to commit. Linux 6.1 commits before the FUA write in
// the first three cases (the whole block needs no zeroing: it is mapped
// first, as any new block) and not at all in the last; the log device it
// wrote (testdata/kernel-fua.log.gz) records that order, and gdmsetup's must
// be the same bytes, with the same log-writes status after each step.
func TestFUAOrderIsTheKernels(t *testing.T) {
	g := newFUARig(t, 256<<10, "skip_block_zeroing")
	g.write(g.a[:4096], 16*4096)
	g.dsync(g.b[:4096], 17*4096)
	g.status("lw", "6 22")
	g.dsync(g.b[:4096], 50*4096)
	g.status("lw", "9 33")
	g.dsync(g.b, 5*65536)
	g.status("lw", "12 164")
	g.dsync(g.a[:4096], 81*4096)
	g.status("lw", "14 174")
	g.status("pool", "0 112/1024 3/16 - rw discard_passdown queue_if_no_space - 256 ")
	g.status("lw", "15 175")
	g.removeAndCompare("testdata/kernel-fua.log.gz")
}

// TestFUAOverwriteIsTheKernels replays testdata/fua-overwrite-oracle.sh
// (the pool zeroing new blocks): a FUA write of a whole new block replaces
// its zeroing and is issued before the block is mapped, after the commit
// of what the device changed before (6.1's issue()), and completes after
// the commit that maps it; a whole shared block overwritten the same way
// after a snapshot. The log Linux 6.1 wrote (testdata/kernel-fua-overwrite.log.gz)
// and gdmsetup's are the same bytes.
func TestFUAOverwriteIsTheKernels(t *testing.T) {
	g := newFUARig(t, 1<<20)
	g.write(g.a, 1*65536)
	g.dsync(g.b, 2*65536)
	g.status("lw", "7 263")
	g.dsync(g.b, 3*65536)
	g.status("lw", "10 394")
	if err := g.reg.Suspend("thin"); err != nil {
		t.Fatal(err)
	}
	g.message("create_snap 1 0")
	if err := g.reg.Resume("thin"); err != nil {
		t.Fatal(err)
	}
	g.status("lw", "11 395")
	g.dsync(g.b, 1*65536)
	g.status("lw", "14 526")
	g.status("pool", "0 113/1024 4/16 - rw discard_passdown queue_if_no_space - 256 ")
	g.status("lw", "15 527")
	g.removeAndCompare("testdata/kernel-fua-overwrite.log.gz")
}

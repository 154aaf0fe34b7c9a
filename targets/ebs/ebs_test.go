package ebs

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
)

// devBytes is the size of the test device files.
const devBytes = 1 << 20

// TestConstructorErrors checks every ti->error of ebs_ctr, word for word
// and in its order, with its errno.
func TestConstructorErrors(t *testing.T) {
	dev := dmtest.Sparse(t, filepath.Join(t.TempDir(), "dev.img"), devBytes)
	missing := filepath.Join(t.TempDir(), "missing.img")
	cases := []struct {
		args  string // "@missing" names a missing device
		msg   string
		errno syscall.Errno
	}{
		{"@dev 0", "Invalid argument count", syscall.EINVAL},
		{"@dev 0 8 8 8", "Invalid argument count", syscall.EINVAL},
		{"@dev x 8", "Invalid device offset sector", syscall.EINVAL},
		{"@dev +0 8", "Invalid device offset sector", syscall.EINVAL},
		{"@dev 0 x", "Invalid emulated block size", syscall.EINVAL},
		{"@dev 0 0", "Invalid emulated block size", syscall.EINVAL},
		{"@dev 0 3", "Invalid emulated block size", syscall.EINVAL},
		{"@dev 0 16", "Invalid emulated block size", syscall.EINVAL},
		{"@dev 0 65536", "Invalid emulated block size", syscall.EINVAL},
		// %hu wraps at 16 bits: 65537 is 1
		{"@dev 0 65537 0", "Invalid underlying block size", syscall.EINVAL},
		{"@dev 0 8 x", "Invalid underlying block size", syscall.EINVAL},
		{"@dev 0 8 6", "Invalid underlying block size", syscall.EINVAL},
		{"@dev 0 8 -8", "Invalid underlying block size", syscall.EINVAL},
		{"@missing x 8", "Invalid device offset sector", syscall.EINVAL},
		{"@missing 0 8", "Device lookup failed", syscall.ENODEV},
		{"@dev 1 1 2", "Device offset must be multiple of underlying block size", syscall.EINVAL},
	}
	for _, c := range cases {
		args := strings.Fields(strings.NewReplacer("@dev", dev, "@missing", missing).Replace(c.args))
		_, err := New(dmtest.NewDirect(t).Context(96), args)
		var ce *targets.CtrError
		if !errors.As(err, &ce) || ce.Msg != c.msg || ce.Errno != c.errno {
			t.Errorf("ebs %s: %v, want %q (%v)", c.args, err, c.msg, c.errno)
		}
	}
}

// TestTableAndLog: the table line shows the underlying size only when the
// table gave it; an emulated size equal to the device's is logged only
// when it was taken from the device, and only by a new table.
func TestTableAndLog(t *testing.T) {
	dev := dmtest.Sparse(t, filepath.Join(t.TempDir(), "dev.img"), devBytes)
	for _, c := range []struct {
		args, table string
		restored    bool
		logged      bool
	}{
		{"0 1", "0 1", false, true},
		{"0 1", "0 1", true, false},
		{"0 1 1", "0 1 1", false, false},
		{"16 8", "16 8", false, false},
		{"16 2 4", "16 2 4", false, false},
		{"0 65544 65537", "0 8 1", false, false},
	} {
		log := dmtest.NewDirect(t)
		ctx := log.Context(96)
		ctx.Restored = c.restored
		tg, err := New(ctx, append([]string{dev}, strings.Fields(c.args)...))
		if err != nil {
			t.Fatalf("ebs %s: %v", c.args, err)
		}
		if got := tg.Table(); got != dev+" "+c.table {
			t.Errorf("ebs %s: table %q, want %q", c.args, got, dev+" "+c.table)
		}
		if tg.Status() != "" {
			t.Errorf("ebs %s: status %q, want empty", c.args, tg.Status())
		}
		want := []string(nil)
		if c.logged {
			want = []string{"device-mapper: ebs: Emulation superfluous: emulated equal to underlying block size"}
		}
		if got := log.TakeLog(); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("ebs %s (restored %v): logged %q, want %q", c.args, c.restored, got, want)
		}
	}
}

// TestLogicalBlockSize: the device's logical block size is the emulated
// one, below or above its device's; without an underlying size the
// device's logical block size is taken; lines are checked against it.
func TestLogicalBlockSize(t *testing.T) {
	g := dmtest.New(t)
	a := g.File("a.img", devBytes, false)
	if got := g.MustCreate("e8", devBytes/512, "ebs", a, "0", "8").LogicalBlockBytes(); got != 4096 {
		t.Errorf("ebs 8 over a file: logical block %d, want 4096", got)
	}
	g.Klog.Reset()
	// over a 4096-byte device, 512-byte blocks and the device's as underlying
	d := g.MustCreate("e1", devBytes/512, "ebs", "/dev/mapper/e8", "0", "1")
	if got := d.LogicalBlockBytes(); got != 512 {
		t.Errorf("ebs 1 over ebs 8: logical block %d, want 512", got)
	}
	if got := g.Line("e1", false); got != "253:0 0 1" {
		t.Errorf("table %q", got)
	}
	if err := g.Create("bad", 8, "ebs", "/dev/mapper/e8", "4", "1"); err == nil {
		t.Error("ebs at sector 4 of a 4096-byte device: accepted")
	} else if !strings.Contains(g.Klog.String(), "ebs: Device offset must be multiple of underlying block size") {
		t.Errorf("log %q", g.Klog.String())
	}
	for _, c := range []struct {
		lenSectors uint64
		args, log  string
	}{
		{96, "4 8", "start=4 not aligned to h/w logical block size 4096 of " + a},
		{100, "0 8", "len=100 not aligned to h/w logical block size 4096 of " + a},
	} {
		g.Klog.Reset()
		if err := g.Create("bad", c.lenSectors, "ebs", append([]string{a}, strings.Fields(c.args)...)...); err == nil {
			t.Errorf("ebs %s len %d: accepted", c.args, c.lenSectors)
		} else if !strings.Contains(g.Klog.String(), c.log) {
			t.Errorf("ebs %s len %d: log %q, want %q", c.args, c.lenSectors, g.Klog.String(), c.log)
		}
	}
}

// TestAlignmentWarnings: an emulated block above the underlying one makes
// the kernel's limits misaligned, which it logs for the ebs line and for a
// device stacked on it at a block's start (as the real kernel does, twice
// each: once at the load, once at the resume).
func TestAlignmentWarnings(t *testing.T) {
	g := dmtest.New(t)
	a := g.File("a.img", devBytes, false)
	g.MustCreate("e", devBytes/512, "ebs", a, "0", "8")
	line := "device-mapper: table: 253:0: adding target device (start sect 0 len 2048) caused an alignment inconsistency\n"
	if got := g.Klog.String(); got != line+line {
		t.Errorf("log %q, want the line twice", got)
	}
	g.Klog.Reset()
	g.MustCreate("u", devBytes/512, "ebs", a, "0", "1", "8")
	g.MustCreate("l", 8, "linear", "/dev/mapper/e", "8")
	dev := "device-mapper: table: 253:2: adding target device dm-0 caused an alignment inconsistency: physical_block_size=4096, logical_block_size=4096, alignment_offset=512, start=4096\n"
	comb := "device-mapper: table: 253:2: adding target device (start sect 0 len 8) caused an alignment inconsistency\n"
	if got, want := g.Klog.String(), strings.Repeat(dev+comb+dev, 2); got != want {
		t.Errorf("log %q, want %q", got, want)
	}
}

// TestReadModifyWrite writes and reads random sector ranges through ebs
// with 512-byte emulated and 8 KiB underlying blocks at an offset, and
// checks the device file against a copy kept in memory: what a write does
// not cover stays as it was, in the blocks it covers in part too.
func TestReadModifyWrite(t *testing.T) {
	g := dmtest.New(t)
	path := g.File("a.img", devBytes, true)
	const offSectors = 32
	lenSectors := uint64(devBytes/512 - offSectors)
	d := g.MustCreate("e", lenSectors, "ebs", path, "32", "1", "16")
	model := dmtest.FileBytes(t, path, 0, devBytes)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 300; i++ {
		sector := rng.Uint64N(lenSectors)
		n := 1 + rng.Uint64N(min(lenSectors-sector, 40))
		off := int64(sector) * 512
		if rng.IntN(2) == 0 {
			p := dmtest.Random(int(n) * 512)
			if _, err := d.WriteAt(p, off); err != nil {
				t.Fatalf("write %d+%d: %v", sector, n, err)
			}
			copy(model[off+offSectors*512:], p)
		} else {
			p := make([]byte, n*512)
			if _, err := d.ReadAt(p, off); err != nil {
				t.Fatalf("read %d+%d: %v", sector, n, err)
			}
			if !bytes.Equal(p, model[off+offSectors*512:][:len(p)]) {
				t.Fatalf("read %d+%d: wrong data", sector, n)
			}
		}
	}
	if !bytes.Equal(dmtest.FileBytes(t, path, 0, devBytes), model) {
		t.Error("the device file differs from the model")
	}
}

// TestConcurrentPartialWrites: writes to different sectors of one
// underlying block, at once, each patch the block without losing the
// others' (the kernel's worker does them one at a time).
func TestConcurrentPartialWrites(t *testing.T) {
	g := dmtest.New(t)
	path := g.File("a.img", devBytes, false)
	d := g.MustCreate("e", devBytes/512, "ebs", path, "0", "1", "64")
	want := dmtest.Random(64 * 512)
	for round := 0; round < 20; round++ {
		var wg sync.WaitGroup
		for s := 0; s < 64; s++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := d.WriteAt(want[s*512:(s+1)*512], int64(s)*512); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if !bytes.Equal(dmtest.FileBytes(t, path, 0, len(want)), want) {
			t.Fatalf("round %d: a write into the block was lost", round)
		}
		want = dmtest.Random(64 * 512)
	}
}

// TestUnreadableBlock: over a device failing in part of an underlying
// block, I/O covering that block in part fails, and a write leaves it as
// it was; aligned I/O goes straight down.
func TestUnreadableBlock(t *testing.T) {
	g := dmtest.New(t)
	b := g.File("b.img", devBytes, true)
	under := []dm.TargetLine{
		{Start: 0, Len: 16, Type: "linear", Args: []string{b, "0"}},
		{Start: 16, Len: 16, Type: "error"},
		{Start: 32, Len: devBytes/512 - 32, Type: "linear", Args: []string{b, "32"}},
	}
	if err := g.Reg.Create("under", "", under, false); err != nil {
		t.Fatal(err)
	}
	d := g.MustCreate("e", devBytes/512, "ebs", "/dev/mapper/under", "0", "8", "32")
	before := dmtest.FileBytes(t, b, 0, 64*512)
	for _, off := range []int64{0, 4096} {
		if _, err := d.ReadAt(make([]byte, 4096), off); !errors.Is(err, syscall.EIO) {
			t.Errorf("read at %d (block 0, its sectors 16-31 failing): %v, want EIO", off, err)
		}
		if _, err := d.WriteAt(dmtest.Random(4096), off); !errors.Is(err, syscall.EIO) {
			t.Errorf("write at %d: %v, want EIO", off, err)
		}
	}
	if !bytes.Equal(dmtest.FileBytes(t, b, 0, 64*512), before) {
		t.Error("a write into the unreadable block changed it")
	}
	if _, err := d.ReadAt(make([]byte, 16384), 16384); err != nil {
		t.Errorf("read of block 1: %v", err)
	}
	w := dmtest.Random(4096)
	if _, err := d.WriteAt(w, 20480); err != nil {
		t.Errorf("partial write of block 1: %v", err)
	}
	if !bytes.Equal(dmtest.FileBytes(t, b, 20480, 4096), w) {
		t.Error("the write into block 1 did not reach the device")
	}
	// a whole block goes straight down: the linear part is written
	w = dmtest.Random(16384)
	if _, err := d.WriteAt(w, 0); !errors.Is(err, syscall.EIO) {
		t.Errorf("write of block 0 whole: %v, want EIO", err)
	}
	if !bytes.Equal(dmtest.FileBytes(t, b, 0, 8192), w[:8192]) {
		t.Error("the part of a whole-block write before the error range was not written")
	}
}

// TestBlockPastEnd: an underlying block the device does not hold whole
// cannot be read.
func TestBlockPastEnd(t *testing.T) {
	dev := dmtest.Sparse(t, filepath.Join(t.TempDir(), "dev.img"), devBytes+512)
	tg, err := New(dmtest.NewDirect(t).Context(devBytes/512+1), []string{dev, "0", "1", "16"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tg.ReadAt(make([]byte, 512), devBytes/512); !errors.Is(err, syscall.EIO) {
		t.Errorf("read of the last sector, in a block past the end: %v, want EIO", err)
	}
	if err := tg.WriteAt(make([]byte, 512), devBytes/512); !errors.Is(err, syscall.EIO) {
		t.Errorf("write of the last sector: %v, want EIO", err)
	}
	if err := tg.ReadAt(make([]byte, 512), devBytes/512-1); err != nil {
		t.Errorf("read of a sector of the last whole block: %v", err)
	}
}

// TestDiscard: only the underlying blocks a discard covers whole are
// discarded; a discard not aligned to the emulated block is refused.
func TestDiscard(t *testing.T) {
	g := dmtest.New(t)
	path := g.File("a.img", devBytes, true)
	d := g.MustCreate("e", devBytes/512, "ebs", path, "0", "8", "32")
	before := dmtest.FileBytes(t, path, 0, 128*1024)
	if err := d.Discard(512, 4096); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("discard not aligned to 4096: %v, want EINVAL", err)
	}
	if err := d.Discard(4096, 65536); err != nil {
		t.Fatal(err)
	}
	want := bytes.Clone(before)
	clear(want[16384:65536])
	if !bytes.Equal(dmtest.FileBytes(t, path, 0, len(want)), want) {
		t.Error("discard 4K+64K: want exactly blocks 1-3 (16K-64K) zeroed")
	}
	if err := d.Discard(65536, 4096); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dmtest.FileBytes(t, path, 0, len(want)), want) {
		t.Error("a discard inside one block changed the device")
	}
}

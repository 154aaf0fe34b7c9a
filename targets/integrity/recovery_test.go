package integrity

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// kernelRecoverySB is the sha256 of the first 4 KiB the oracle kernel
// (Linux 6.1) left on a zeroed 4 MiB device after a table "0 2048
// integrity DEV 0 4 R 1 internal_hash:crc32c" was resumed twice: no
// magic, version 1, provided_data_sectors 7752, zeroes
// (testdata/fidelity/expected/integrity-recovery.kernel.out).
const kernelRecoverySB = "67398f059b3ef3f9d49bc9d0be60cdbc37aefb1ebed71772f7fd0671dbbf98ed"

// TestModeRUnformatted is mode R on a device without a superblock, as
// Linux 6.1 runs it: the constructor's superblock lives in core only
// (interleave 32768 in the loaded table), the first resume replaces it
// with the device's zeroes (interleave 1 in table and measure, data
// found through one-sector areas, max_io_len unchanged) and writes
// nothing; a later process keeps that; the second resume writes the
// superblock, after which mode D refuses the device.
func TestModeRUnformatted(t *testing.T) {
	const table = "d 0 4 R 1 internal_hash:crc32c"
	e := newEnv(t)
	d := e.Sparse("d", 4<<20)
	dev := pattern(5, 4<<20)
	clear(dev[:sbBytes])
	if err := os.WriteFile(d, dev, 0o644); err != nil {
		t.Fatal(err)
	}
	x := e.MustConstruct(e.LoadContext(2048), table)
	wantIl := func(n string) {
		t.Helper()
		if tb := x.Table(); !strings.Contains(tb, " interleave_sectors:"+n+" ") {
			t.Fatalf("table %q, want interleave_sectors:%s", tb, n)
		}
		if m := x.Measure(); !strings.Contains(m, ",interleave_sectors="+n+",") {
			t.Fatalf("measure %q, want interleave_sectors=%s", m, n)
		}
		if got := x.MaxIOSectors(); got != 32768 {
			t.Fatalf("max_io_len %d, want the constructor's 32768", got)
		}
	}
	wantIl("32768")
	e.Resume(x)
	wantIl("1")
	dmtest.MustEqual(t, "the superblock area after the first resume", dmtest.FileBytes(t, d, 0, sbBytes), make([]byte, sbBytes))
	// Logical sector 8 is area 8: 8 + 9*metadata_run(256) + the 184
	// sectors of superblock and journal.
	dmtest.MustEqual(t, "logical sector 8", dmtest.ReadAt(t, x, 8, 4096), dev[2496*512:2504*512])
	if err := x.ReadAt(make([]byte, 4096), 128); !errors.Is(err, syscall.EIO) {
		t.Fatalf("read of an area past the device's end: %v, want EIO", err)
	}
	if s := x.Status(); s != "0 7752 -" {
		t.Fatalf("status %q", s)
	}

	x = e.Restore(x, 2048, table)
	wantIl("1")
	dmtest.MustEqual(t, "logical sector 8 in a later process", dmtest.ReadAt(t, x, 8, 4096), dev[2496*512:2504*512])

	if err := x.PostSuspend(); err != nil {
		t.Fatal(err)
	}
	dmtest.MustEqual(t, "the superblock area after a suspend", dmtest.FileBytes(t, d, 0, sbBytes), make([]byte, sbBytes))
	e.Resume(x)
	sum := sha256.Sum256(dmtest.FileBytes(t, d, 0, sbBytes))
	if got := hex.EncodeToString(sum[:]); got != kernelRecoverySB {
		t.Fatalf("superblock area after the second resume: sha256 %s, want the kernel's %s", got, kernelRecoverySB)
	}
	wantIl("1")
	e.Remove(x)
	dmtest.MustEqual(t, "the data", dmtest.FileBytes(t, d, sbBytes, len(dev)-sbBytes), dev[sbBytes:])

	if _, err := e.Build(2048, "d 0 4 D 1 internal_hash:crc32c"); err == nil || !strings.Contains(err.Error(), "The device is not initialized") {
		t.Fatalf("mode D over the written superblock: %v", err)
	}
}

// fidelityPattern is the fidelity harness's write pattern for seed
// (lib/scn.py pattern_bytes): SHA-256 in counter mode.
func fidelityPattern(seed string, n int) []byte {
	var out []byte
	for i := 0; len(out) < n; i++ {
		h := sha256.Sum256([]byte("gdmsetup-fidelity:" + seed + ":" + strconv.Itoa(i)))
		out = append(out, h[:]...)
	}
	return out[:n]
}

// TestModeRRecalculate is mode R with recalculate on a device without a
// superblock, against the oracle kernel's bytes: the first resume writes
// the superblock to keep its recalculate flag (version 2, provided 0),
// the recalculation runs through one-sector areas, writing tags where
// the constructor's layout has data, until the data of area 31 lies past
// the device's end (EIO, the target failed, position 31); the next
// resume writes provided_data_sectors. The kernel loses data here; this
// does the same.
func TestModeRRecalculate(t *testing.T) {
	const table = "f 0 4 R 2 internal_hash:crc32c recalculate"
	e := newEnv(t)
	f := e.Sparse("f", 4<<20)
	dev := make([]byte, 4<<20)
	copy(dev[4096:], fidelityPattern("a", len(dev)-4096))
	if err := os.WriteFile(f, dev, 0o644); err != nil {
		t.Fatal(err)
	}
	sha := func(off, n int) string {
		s := sha256.Sum256(dmtest.FileBytes(t, f, int64(off), n))
		return hex.EncodeToString(s[:])
	}
	x := e.Create(2048, table)
	x = e.Restore(x, 2048, table)
	if log := strings.Join(e.TakeLog(), "\n"); !strings.Contains(log, "integrity: Error on reading data: -5") {
		t.Fatalf("kernel log %q, want the recalculation's read error", log)
	}
	if err := x.PostSuspend(); err != nil {
		t.Fatal(err)
	}
	if s := x.Status(); s != "0 7752 31" {
		t.Fatalf("status %q, want the kernel's 0 7752 31", s)
	}
	for _, c := range []struct {
		what      string
		off, n    int
		kernelSHA string
	}{
		{"superblock after the first suspend", 0, 4096, "d0c7f531e2c9714f5f752d6d1dae2e2c69b397a743298ecb225ed09b2ddf4857"},
		{"data after the recalculation", 4096, len(dev) - 4096, "ec366f904cab0715c8c8cb942a85697f914228914f25aee8c36c714eabe28d4d"},
	} {
		if got := sha(c.off, c.n); got != c.kernelSHA {
			t.Fatalf("%s: sha256 %s, want the kernel's %s", c.what, got, c.kernelSHA)
		}
	}
	e.Resume(x)
	e.Remove(x)
	if got, want := sha(0, 4096), "b82e1221bae5daf92b858186ace67474ec268c74fd070fff5e2a61af6fbc0b98"; got != want {
		t.Fatalf("superblock after the second resume: sha256 %s, want the kernel's %s", got, want)
	}
}

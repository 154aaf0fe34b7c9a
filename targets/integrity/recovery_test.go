package integrity

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
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

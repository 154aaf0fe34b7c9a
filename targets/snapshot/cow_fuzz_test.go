package snapshot_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// FuzzSnapshotCOW damages one chunk of the COW device Linux 6.1 wrote
// (testdata/kernel-cow.img.gz: 4 KiB chunks, one metadata area holding
// seven exceptions) and builds a snapshot (or, with merge, a
// snapshot-merge) of a 256 KiB origin on it with the table's chunk size 8
// or 16, then reads and writes through it and removes it: no panic, no
// hang, and a refused table leaves the COW device as it was.
func FuzzSnapshotCOW(f *testing.F) {
	img := dmtest.GunzipBytes(f, "testdata/kernel-cow.img.gz")
	f.Add(false, false, uint16(0), uint16(12), []byte{0, 0, 0, 0x40}) // chunk size 2^30 sectors
	f.Add(false, false, uint16(0), uint16(12), []byte{0, 0, 0x20})    // the largest the kernel takes
	f.Add(false, true, uint16(0), uint16(4), []byte{0})               // invalid
	f.Add(true, false, uint16(0), uint16(8), []byte{2})               // version 2
	f.Add(false, false, uint16(1), uint16(8), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add(true, true, uint16(1), uint16(0), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})
	f.Add(true, false, uint16(1), uint16(7*16+8), []byte{1})
	f.Add(false, true, uint16(1), uint16(6*16), bytes.Repeat([]byte{1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0}, 256))
	f.Fuzz(func(t *testing.T, merge, chunk16 bool, pick, offBytes uint16, patch []byte) {
		bad, _ := dmtest.Damage{Pick: pick, OffBytes: offBytes, Patch: patch}.Apply(img, 4096)
		g := dmtest.New(t)
		cow := g.Path("cow")
		if err := os.WriteFile(cow, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		origin := g.File("origin", 256<<10, false)
		typ, chunk := "snapshot", "8"
		if merge {
			typ = "snapshot-merge"
		}
		if chunk16 {
			chunk = "16"
		}
		dmtest.Within(t, "a snapshot over a damaged COW device", func() error {
			if err := g.Create("s", 512, typ, origin, cow, "P", chunk); err != nil {
				if after, _ := os.ReadFile(cow); !bytes.Equal(after, bad) {
					return fmt.Errorf("a refused table (%v) wrote to its COW device", err)
				}
				return nil
			}
			d, _ := g.Reg.Lookup("s")
			if d.Prepare() == nil {
				p := bytes.Repeat([]byte{0x5a}, 8192)
				d.WriteAt(p, 40<<10)
				d.ReadAt(p, 0)
				d.ReadAt(p, 100<<10)
			}
			g.Reg.Lines("s", false, true)
			g.Reg.Remove("s")
			return nil
		}, nil)
	})
}

// TestHeaderChunkPastCOW: a header whose chunk size (valid, up to 2 GiB)
// is larger than the COW device is refused before a chunk of that size is
// allocated, with the kernel's lines and errno, and nothing written.
func TestHeaderChunkPastCOW(t *testing.T) {
	g := newRig(t)
	cow := g.Path("cow")
	img := dmtest.GunzipBytes(t, "testdata/kernel-cow.img.gz")
	binary.LittleEndian.PutUint32(img[12:], 1<<21)
	if err := os.WriteFile(cow, img, 0o600); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := g.create("s", 512, "snapshot", "base cow P 8"); err == nil {
		t.Fatal("a chunk size past the COW device's end accepted")
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<20 {
		t.Errorf("refusing the table allocated %d MiB", n>>20)
	}
	want := "device-mapper: persistent snapshot: chunk size 2097152 in device metadata overrides table chunk size of 8.\n" +
		"device-mapper: table: 253:0: snapshot: Failed to read snapshot metadata (-EIO)\n"
	if !strings.Contains(g.Klog.String(), want) {
		t.Fatalf("kernel log\n%s\nwant\n%s", g.Klog.String(), want)
	}
	if raw, _ := os.ReadFile(cow); !bytes.Equal(raw, img) {
		t.Fatal("the refused table wrote to its COW device")
	}
}

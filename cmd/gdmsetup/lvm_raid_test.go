package main

import (
	"bytes"
	enc "encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// lvmRaidDisks are the disks testdata/lvm/raid-oracle.sh ran on, in the guest's order
// (vda..vde).
var lvmRaidDisks = []string{"r1", "r2", "r3", "r4", "r5"}

// lvmRaidLVs are the raid and mirror LVs of VG raid-vg, as dm names.
var lvmRaidLVs = []string{"raid--vg-r1", "raid--vg-r0", "raid--vg-r0m", "raid--vg-r4", "raid--vg-r5", "raid--vg-r6", "raid--vg-r10", "raid--vg-m", "raid--vg-mc", "raid--vg-thin"}

// TestLvmRaidActivateIsLvm2s activates the raid and mirror LVs lvm2 made in the kernel oracle
// from their disk images and compares names, minors, tables, UUIDs, flags, open counts,
// status and every LV's bytes with what lvm2's activation gave the kernel.
func TestLvmRaidActivateIsLvm2s(t *testing.T) {
	s := newSandbox(t)
	imgs := lvmImages(s, lvmRaidDisks...)
	oracle := lvmOracle(t, "raid")
	act := oracle["vgchange -ay"]
	r5Meta := lvmRaidR5Meta(t, imgs[0])
	s.ok("", append([]string{"lvm", "activate"}, imgs...)...)
	sameLines(t, "ls", lines(s.ok("", "ls")), matching(act, `\t\(253:\d+\)$`))
	sameLines(t, "table", lines(s.ok("", "table")), onImages(t, matching(act, `^\S+: \d+ \d+ `), imgs))
	sameLines(t, "info", lines(s.ok("", "info", "-c", "-o", "name,uuid,attr,open")), matching(act, `^(Name|\S+ +LVM-)`))
	sameLines(t, "status", lines(s.ok("", "status")), oracle["status"])
	s.sameSHAAsLvm2("vgchange -ay", oracle["sha256"])

	// The raid5 set's superblock and bitmap header as the activation left them: the kernel's
	// but for the events, which went up by one from the images' as in the kernel (the
	// bitmap's events_cleared with them, equal as in the kernel's).
	kernel := odBytes(t, oracle["superblock raid--vg-r5_rmeta_0"])
	meta := []byte(s.ok("", "read", "raid--vg-r5_rmeta_0", "--length", strconv.Itoa(len(kernel))))
	want := enc.LittleEndian.Uint64(r5Meta[16:]) + 1
	for off, what := range map[int]string{16: "superblock events", 4096 + 24: "bitmap events", 4096 + 32: "bitmap events_cleared"} {
		if got := enc.LittleEndian.Uint64(meta[off:]); got != want {
			t.Errorf("%s %d after activating a set at %d", what, got, want-1)
		}
		copy(meta[off:off+8], kernel[off:off+8])
	}
	for _, r := range [][2]int{{0, 512}, {4096, 4096 + 256}} {
		if !bytes.Equal(meta[r[0]:r[1]], kernel[r[0]:r[1]]) {
			t.Errorf("raid5 metadata bytes %d-%d:\n got %x\nwant %x", r[0], r[1], meta[r[0]:r[1]], kernel[r[0]:r[1]])
		}
	}
}

// lvmRaidR5Meta reads the first 8 KiB of raid--vg-r5_rmeta_0 from the image of r1 (its extent
// 15, after the PV's 2048 sectors of labels and metadata).
func lvmRaidR5Meta(t *testing.T, r1 string) []byte {
	f, err := os.Open(r1)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 8192)
	if _, err := f.ReadAt(b, (2048+15*2048)*512); err != nil {
		t.Fatal(err)
	}
	return b
}

// odBytes reads back the bytes of `od -A d -t x1` output (a "*" line repeats the line before
// it up to the next offset); bytes it does not show are zero.
func odBytes(t *testing.T, out []string) []byte {
	var b, prev []byte
	repeat := false
	for _, l := range out {
		f := strings.Fields(l)
		if l == "*" {
			repeat = true
			continue
		}
		off, err := strconv.Atoi(f[0])
		if err != nil {
			t.Fatalf("od line %q", l)
		}
		for repeat && len(b) < off {
			b = append(b, prev...)
		}
		repeat = false
		b = append(b, make([]byte, max(0, off-len(b)))...)[:off]
		prev = nil
		for _, h := range f[1:] {
			v, err := strconv.ParseUint(h, 16, 8)
			if err != nil {
				t.Fatalf("od line %q", l)
			}
			prev = append(prev, byte(v))
		}
		b = append(b, prev...)
	}
	return b
}

// TestLvmRaidWriteBack writes into every raid and mirror LV and the thin volume of the pool on
// raid1 LVs, deactivates, activates again: the bytes read back, every set is in sync, each leg
// of the raid1 and mirror LVs holds the same bytes, the real thin_check passes the pool's
// metadata.
func TestLvmRaidWriteBack(t *testing.T) {
	s := newSandbox(t)
	imgs := lvmImages(s, lvmRaidDisks...)
	s.lvmWriteBack(imgs, "raid-vg", lvmRaidLVs, 320<<10, 1<<20+4096)
	for _, l := range lines(s.ok("", "status")) {
		f := strings.Fields(l)
		switch {
		case f[3] == "raid" && (strings.Trim(f[6], "A") != "" || f[8] != "idle"):
			t.Errorf("raid set not in sync: %s", l)
		case f[3] == "mirror" && !strings.Contains(l, " AA "):
			t.Errorf("mirror not in sync: %s", l)
		}
	}
	for _, legs := range [][2]string{{"raid--vg-r1_rimage_0", "raid--vg-r1_rimage_1"}, {"raid--vg-m_mimage_0", "raid--vg-m_mimage_1"},
		{"raid--vg-mc_mimage_0", "raid--vg-mc_mimage_1"}, {"raid--vg-tp_tmeta_rimage_0", "raid--vg-tp_tmeta_rimage_1"}} {
		if s.lvSHA(legs[0]) != s.lvSHA(legs[1]) {
			t.Errorf("%s and %s differ", legs[0], legs[1])
		}
	}
	meta := filepath.Join(s.dir, "tmeta.img")
	if err := os.WriteFile(meta, []byte(s.ok("", "read", "raid--vg-tp_tmeta")), 0o600); err != nil {
		t.Fatal(err)
	}
	s.ok("", "lvm", "deactivate", "raid-vg")
	dmtest.RunPeer(t, "thin_check", meta)
}

// TestLvmRaidReadOnly activates read-only: writes fail, the images do not change.
func TestLvmRaidReadOnly(t *testing.T) {
	s := newSandbox(t)
	imgs := lvmImages(s, lvmRaidDisks...)
	unchanged := imagesUnchanged(t, imgs)
	s.ok("", append([]string{"lvm", "activate", "--readonly"}, imgs...)...)
	for _, lv := range []string{"raid--vg-r1", "raid--vg-r5", "raid--vg-m"} {
		if r := s.run("x", "write", lv); r.code == 0 {
			t.Errorf("%s: a write to a read-only activation succeeded", lv)
		}
	}
	want := map[string]string{}
	for _, l := range lvmOracle(t, "raid")["sha256"] {
		name, sum, _ := strings.Cut(l, " ")
		want[name] = sum
	}
	for _, lv := range lvmRaidLVs {
		if got := s.lvSHA(lv); got != want[lv] {
			t.Errorf("%s read-only: sha256 %s, lvm2 read %s", lv, got, want[lv])
		}
	}
	s.ok("", "lvm", "deactivate", "raid-vg")
	unchanged()
}

// TestLvmRaidRefusals: a disk missing is refused under --activationmode complete, the hidden
// sub-LVs cannot be named, nothing is left.
func TestLvmRaidRefusals(t *testing.T) {
	s := newSandbox(t)
	imgs := lvmImages(s, lvmRaidDisks...)
	s.lvmRefused("refusing activation of partial LV raid-vg/r6: LV raid-vg/r6 segment1: member 4: LV raid-vg/r6_rmeta_4 segment1: stripe 1: PV pv4 (id ", append([]string{"activate", "--activationmode", "complete", "--lv", "raid-vg/r6"}, imgs[:4]...)...)
	s.lvmRefused("LV raid-vg/r1_rimage_0 is a hidden part of another LV", append([]string{"activate", "--lv", "raid-vg/r1_rimage_0"}, imgs...)...)
	s.lvmRefused("LV raid-vg/m_mlog is a hidden part of another LV", append([]string{"activate", "--lv", "raid-vg/m_mlog"}, imgs...)...)
	s.ok("", append([]string{"lvm", "activate", "--lv", "raid-vg/r1"}, imgs[:2]...)...)
	if got := s.ok("", "status", "raid--vg-r1"); !strings.Contains(got, " raid raid1 2 AA 16384/16384 idle 0 0 -") {
		t.Errorf("raid1 from its two disks: %q", got)
	}
}

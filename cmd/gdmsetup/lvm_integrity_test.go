package main

import (
	"bytes"
	enc "encoding/binary"
	"hash/crc32"
	"os"
	"slices"
	"strings"
	"testing"
)

// lvmIntegrityDisks are the disks testdata/lvm/integrity-oracle.sh ran on, in the guest's
// order (vda..vdc).
var lvmIntegrityDisks = []string{"i1", "i2", "i3"}

// lvmIntegrityLVs are the LVs of VG ivg, as dm names: raid1 with integrity (journal), raid1
// with integrity (bitmap, 1 KiB blocks), raid5 with integrity, a raid1 whose conversion to
// 4 KiB integrity blocks lvm2 2.03.16 refused (no file system to take the block size from),
// a raid1 without integrity, a linear LV.
var lvmIntegrityLVs = []string{"ivg-r1", "ivg-rb", "ivg-r5", "ivg-rc", "ivg-plain", "ivg-lin"}

// TestLvmIntegrityActivateIsLvm2s activates the raid LVs with integrity lvm2 made in the
// kernel oracle and compares names, minors, tables, UUIDs, flags, open counts, status and
// every LV's bytes with what lvm2's activation gave the kernel.
func TestLvmIntegrityActivateIsLvm2s(t *testing.T) {
	s := newSandbox(t)
	imgs := lvmImages(s, lvmIntegrityDisks...)
	oracle := lvmOracle(t, "integrity")
	s.ok("", append([]string{"lvm", "activate"}, imgs...)...)
	s.sameDevicesAsLvm2("vgchange -ay", oracle["vgchange -ay"], imgs)
	sameLines(t, "status", lines(s.ok("", "status")), matching(oracle["status"], `^\S+: \d+ \d+ `))
	s.sameSHAAsLvm2("", oracle["sha256"])
	s.lvmDeactivate("ivg")
}

// TestLvmIntegrityWriteBack writes into every LV, deactivates, activates again: the bytes
// read back, no integrity device counts a mismatch, every raid set is in sync and the two
// images of each raid1 read the same.
func TestLvmIntegrityWriteBack(t *testing.T) {
	s := newSandbox(t)
	s.lvmWriteBack(lvmImages(s, lvmIntegrityDisks...), "ivg", lvmIntegrityLVs, 192<<10, 512<<10+4096)
	for _, l := range lines(s.ok("", "status")) {
		f := strings.Fields(l)
		switch {
		case f[3] == "raid" && (strings.Trim(f[6], "A") != "" || f[8] != "idle"):
			t.Errorf("raid set not in sync: %s", l)
		case f[3] == "integrity" && (f[4] != "0" || f[6] != "-" && f[6] != f[5]):
			t.Errorf("integrity mismatches or recalculating: %s", l)
		}
	}
	for _, lv := range []string{"ivg-r1", "ivg-rb", "ivg-rc"} {
		if s.lvSHA(lv+"_rimage_0") != s.lvSHA(lv+"_rimage_1") {
			t.Errorf("%s: the raid1 images differ", lv)
		}
	}
	s.ok("", "lvm", "deactivate", "ivg")
}

// TestLvmIntegrityReadOnly activates read-only: writes fail, every LV reads as lvm2 read it,
// the images do not change. The bitmap-mode LV is refused: its integrity devices write their
// superblock whenever they resume (the 6.1 kernel lets that write through a read-only device).
func TestLvmIntegrityReadOnly(t *testing.T) {
	s := newSandbox(t)
	imgs := lvmImages(s, lvmIntegrityDisks...)
	unchanged := imagesUnchanged(t, imgs)
	s.lvmRefused("LV ivg/rb_rimage_0: integrity in bitmap mode writes its superblock at every activation", append([]string{"activate", "--readonly"}, imgs...)...)
	var lvs []string
	for _, lv := range []string{"r1", "r5", "rc", "plain", "lin"} {
		lvs = append(lvs, "--lv", "ivg/"+lv)
	}
	s.ok("", append(append([]string{"lvm", "activate", "--readonly"}, lvs...), imgs...)...)
	for _, lv := range []string{"ivg-r1", "ivg-r5"} {
		if r := s.run("x", "write", lv); r.code == 0 {
			t.Errorf("%s: a write to a read-only activation succeeded", lv)
		}
	}
	s.sameSHAAsLvm2("read-only", slices.DeleteFunc(lvmOracle(t, "integrity")["sha256"], func(l string) bool { return strings.HasPrefix(l, "ivg-rb ") }))
	s.ok("", "lvm", "deactivate", "ivg")
	unchanged()
}

// TestLvmIntegrityDegraded activates the VG with i2 missing in each activation mode, as
// lvm2 did in the kernel oracle: a raid LV with integrity is never activated degraded or
// partial, and after it lvm2 activates no other LV on the missing PV either (here: none is
// left, every LV has an area on i2).
func TestLvmIntegrityDegraded(t *testing.T) {
	s := newSandbox(t)
	imgs := lvmImages(s, lvmIntegrityDisks...)
	oracle := lvmOracle(t, "integrity")
	present := []string{imgs[0], imgs[2]}
	for _, mode := range []string{"degraded", "complete", "partial"} {
		r := s.run("", append([]string{"lvm", "activate", "--activationmode", mode}, present...)...)
		if r.code == 0 || !strings.Contains(r.stderr, "warning: VG ivg is missing PV ") {
			t.Errorf("%s: exit %d, stderr %q", mode, r.code, r.stderr)
		}
		for _, lv := range []string{"r1", "rb", "r5", "rc", "plain", "lin"} {
			if !strings.Contains(r.stderr, "refusing activation of partial LV ivg/"+lv+": ") {
				t.Errorf("%s: ivg/%s not refused: %q", mode, lv, r.stderr)
			}
		}
		if got := s.ok("", "ls"); !slices.Contains(oracle["vgchange -ay --activationmode "+mode+" (i2 missing)"], strings.TrimSpace(got)) {
			t.Errorf("%s: devices %q, lvm2 made none", mode, got)
		}
	}
}

// TestLvmIntegrityRefusals: integrity settings the kernel or lvm2 would not take, and a raid
// image's metadata LV missing, are refused before anything is created.
func TestLvmIntegrityRefusals(t *testing.T) {
	s := newSandbox(t)
	imgs := lvmImages(s, lvmIntegrityDisks...)
	for _, c := range []struct{ old, new, want string }{
		{`mode = "J"`, `mode = "X"`, `LV ivg/r1_rimage_0: integrity: mode "X" (J for journal or B for bitmap)`},
		{`block_size = 512`, `block_size = 513`, `LV ivg/r1_rimage_0: integrity: block_size 513 (512, 1024, 2048 or 4096 bytes)`},
		{`meta_dev = "r1_rimage_1_imeta"`, `meta_dev = "r1_rimage_1_imetX"`, `LV ivg/r1_rimage_1: integrity: no LV r1_rimage_1_imetX`},
	} {
		for _, p := range imgs {
			editMetadataText(t, p, c.old, c.new)
		}
		s.lvmRefused(c.want, append([]string{"activate"}, imgs...)...)
		for _, p := range imgs {
			editMetadataText(t, p, c.new, c.old)
		}
	}
	s.ok("", append([]string{"lvm", "activate", "--lv", "ivg/r1"}, imgs...)...)
	s.ok("", "lvm", "deactivate", "ivg")
}

// editMetadataText replaces the first old in the current metadata text of the PV image at
// path (its one metadata area at byte 4096, the text not wrapped) with new, of the same
// length, and sets the text's and the area header's checksums (lvm2's CRC-32, seeded
// 0xf597a6cf, without the final inversion).
func editMetadataText(t *testing.T, path, old, new string) {
	t.Helper()
	if len(old) != len(new) {
		t.Fatalf("editMetadataText: %q and %q differ in length", old, new)
	}
	lvmCRC := func(p []byte) uint32 { return ^crc32.Update(^uint32(0xf597a6cf), crc32.IEEETable, p) }
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := b[4096 : 4096+512]
	offBytes, lenBytes := enc.LittleEndian.Uint64(h[40:]), enc.LittleEndian.Uint64(h[48:])
	text := b[4096+offBytes : 4096+offBytes+lenBytes]
	i := bytes.Index(text, []byte(old))
	if i < 0 {
		t.Fatalf("%s: no %q in the metadata text", path, old)
	}
	copy(text[i:], new)
	enc.LittleEndian.PutUint32(h[56:], lvmCRC(text))
	enc.LittleEndian.PutUint32(h, lvmCRC(h[4:]))
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

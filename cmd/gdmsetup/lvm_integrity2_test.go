package main

import (
	enc "encoding/binary"
	"encoding/hex"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// integrity2 is testdata/lvm/integrity2-oracle.sh's scenario: VG nvg on n1 and n2, rb a raid1
// with integrity in bitmap mode, ri a raid1 converted with lvconvert --raidintegrity y and
// deactivated while its integrity devices were recalculating.
func integrity2(t *testing.T) *degradedOracle {
	return &degradedOracle{vg: "nvg", disks: []string{"n1", "n2"}, blocks: lvmOracle(t, "integrity2")}
}

// integritySuper is what a transcript's superblock line ("NAME: " and the first 64 bytes in
// hex) or an image says of an integrity superblock.
type integritySuper struct {
	flags                         uint32
	providedSectors, recalcSector uint64
}

// Integrity superblock fields (struct superblock in dm-integrity.c).
const (
	sbOffProvided     = 16
	sbOffFlags        = 24
	sbOffRecalcSector = 32
	sbRecalculating   = 0x2
)

func parseIntegritySuper(b []byte) integritySuper {
	return integritySuper{
		flags:           enc.LittleEndian.Uint32(b[sbOffFlags:]),
		providedSectors: enc.LittleEndian.Uint64(b[sbOffProvided:]),
		recalcSector:    enc.LittleEndian.Uint64(b[sbOffRecalcSector:]),
	}
}

// oracleSupers returns the superblocks of an oracle block of superblock lines, by device name.
func oracleSupers(t *testing.T, block []string) map[string]integritySuper {
	out := map[string]integritySuper{}
	for _, l := range block {
		name, hexBytes, ok := strings.Cut(l, ": ")
		if !ok {
			continue
		}
		b, err := hex.DecodeString(strings.Join(strings.Fields(hexBytes), ""))
		if err != nil || len(b) < 64 {
			t.Fatalf("superblock line %q: %v", l, err)
		}
		out[name] = parseIntegritySuper(b)
	}
	if len(out) == 0 {
		t.Fatal("no superblock lines in the oracle's block")
	}
	return out
}

// linearOnImage returns the image and the offset in sectors a device's linear table maps to
// (gdmsetup's table: "0 LEN linear IMAGE OFFSET").
func (s *sandbox) linearOnImage(name string) (string, int64) {
	f := strings.Fields(s.ok("", "table", name))
	if len(f) != 5 || f[2] != "linear" {
		s.t.Fatalf("%s: table %q is not one linear target", name, f)
	}
	off, err := strconv.ParseInt(f[4], 10, 64)
	if err != nil {
		s.t.Fatalf("%s: table %q: %v", name, f, err)
	}
	return f[3], off
}

// TestLvmIntegrityRecalcResumed activates ri, whose integrity recalculation the oracle's
// removal of its devices interrupted, as lvm2 did in the kernel: the same devices and tables, the recalculation
// taken up from the superblocks' recalc_sector and ended with the kernel's status, LVs,
// integrity devices and _imeta (tags, superblock, journal) byte for byte the kernel's, and
// after deactivation the superblocks the kernel left.
func TestLvmIntegrityRecalcResumed(t *testing.T) {
	s := newSandbox(t)
	o := integrity2(t)
	imgs := lvmImages(s, o.disks...)
	interrupted := oracleSupers(t, o.blocks["superblocks (interrupted)"])
	for name, sb := range interrupted {
		if sb.flags&sbRecalculating == 0 || sb.recalcSector >= sb.providedSectors {
			t.Fatalf("%s: the oracle's recalculation was not interrupted: %+v", name, sb)
		}
	}
	const what = "vgchange -ay (interrupted)"
	o.blocks[what] = withoutStatus(o.blocks[what])
	s.degradedActivate(o, what, imgs, "")
	sameLines(t, "status (recalculated)", lines(s.ok("", "status")), matching(o.blocks["resume"], `^\S+: \d+ \d+ `))
	s.degradedSHA(o, "sha256 (recalculated)")
	s.degradedSHA(o, "sha256 of the integrity devices and _imeta (recalculated)")
	places := map[string]int64{}
	images := map[string]string{}
	for name := range interrupted {
		images[name], places[name] = s.linearOnImage(name)
	}
	s.degradedDeactivate(o)
	for name, want := range oracleSupers(t, o.blocks["superblocks (recalculated)"]) {
		if got := parseIntegritySuper(dmtest.FileBytes(t, images[name], places[name]*512, 64)); got != want {
			t.Errorf("%s: superblock %+v after deactivation, lvm2 left %+v", name, got, want)
		}
	}
}

// writeAt overwrites the bytes of path at offBytes with data.
func writeAt(t *testing.T, path string, offBytes int64, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(data, offBytes); err != nil {
		t.Fatalf("%s: %d bytes at byte %d: %v", path, len(data), offBytes, err)
	}
}

// corruptHeading matches the oracle's heading for the bytes it overwrote in a leg of rb.
var corruptHeading = regexp.MustCompile(`^corrupt (\S+) \(n1 is (\S+)\) at sector (\d+) \(`)

// TestLvmIntegrityBitmapCorrupted replays the end of integrity2-oracle.sh: rb, a raid1 with
// integrity in bitmap mode, written and deactivated, has 4 KiB of its first leg's data
// overwritten on n1; activated again and read, rb reads as written, the leg's integrity device
// counts the kernel's mismatches (the read, and raid1's first retry from the same leg), raid1
// rewrites the block from the other leg, and both legs then read the same, as in the kernel.
func TestLvmIntegrityBitmapCorrupted(t *testing.T) {
	s := newSandbox(t)
	o := integrity2(t)
	imgs := lvmImages(s, o.disks...)
	var at int64 = -1
	for h := range o.blocks {
		if m := corruptHeading.FindStringSubmatch(h); m != nil {
			if m[1] != m[2] {
				t.Fatalf("the oracle overwrote %s, not n1 (%s)", m[1], m[2])
			}
			at, _ = strconv.ParseInt(m[3], 10, 64)
		}
	}
	if at < 0 {
		t.Fatal("no corrupt heading in the oracle's transcript")
	}
	const bad = "corrupt\n"
	writeAt(t, imgs[0], at*512, []byte(strings.Repeat(bad, 4096/len(bad))))
	s.ok("", append([]string{"lvm", "activate"}, imgs...)...)
	rbStatus := func(what string) {
		t.Helper()
		sameLines(t, what, matching(lines(s.ok("", "status")), `^nvg-rb`), matching(o.blocks[what], `^nvg-rb\S*: \d+ \d+ `))
	}
	s.degradedSHA(o, "sha256 (corrupted)")
	rbStatus("sha256 (corrupted)")
	s.degradedSHA(o, "sha256 of rb's legs (corrupted, read)")
	rbStatus("sha256 of rb's legs (corrupted, read)")
	s.ok("", "message", "nvg-rb", "0", "check")
	rbStatus("check (corrupted)")
	s.degradedSHA(o, "sha256 of rb's legs (checked)")
	s.degradedDeactivate(o)
}

// TestLvmIntegrityRecalcFromPosition: the recalculation of ri's first leg is taken up where
// its superblock says (recalc_sector), not from the start. A sector of its data below that
// position, overwritten on the image, fails its integrity check when read (its tag was
// computed before the interruption); one above it reads as overwritten (its tag is computed
// now), as the kernel's integrity_recalc would.
func TestLvmIntegrityRecalcFromPosition(t *testing.T) {
	s := newSandbox(t)
	o := integrity2(t)
	imgs := lvmImages(s, o.disks...)
	pos := oracleSupers(t, o.blocks["superblocks (interrupted)"])["nvg-ri_rimage_0_imeta"].recalcSector
	var dataAt int64 = -1
	for _, l := range o.blocks["vgchange -ay (interrupted)"] {
		if f := strings.Fields(l); len(f) == 6 && f[0] == "nvg-ri_rimage_0_iorig:" && f[4] == "254:0" {
			dataAt, _ = strconv.ParseInt(f[5], 10, 64)
		}
	}
	if dataAt < 0 || pos < 2048 || pos+2048 > 1310720 {
		t.Fatalf("ri_rimage_0_iorig on n1 at sector %d, recalc_sector %d: not the oracle's scenario", dataAt, pos)
	}
	bad := []byte(strings.Repeat("overwritten on the image\n", 512)[:4096])
	below, above := int64(pos)-1024, int64(pos)+1024
	writeAt(t, imgs[0], (dataAt+below)*512, bad)
	writeAt(t, imgs[0], (dataAt+above)*512, bad)
	s.ok("", append([]string{"lvm", "activate"}, imgs...)...)
	r := s.run("", "read", "nvg-ri_rimage_0", "--offset", strconv.FormatInt(below*512, 10), "--length", "4096")
	if r.code == 0 || !strings.Contains(r.stderr, "Checksum failed") {
		t.Errorf("below recalc_sector %d: the overwritten sector read (exit %d, stderr %q): its tag was recalculated", pos, r.code, r.stderr)
	}
	if got := s.ok("", "read", "nvg-ri_rimage_0", "--offset", strconv.FormatInt(above*512, 10), "--length", "4096"); got != string(bad) {
		t.Errorf("above recalc_sector %d: the overwritten sector does not read as overwritten", pos)
	}
	s.degradedDeactivate(o)
}

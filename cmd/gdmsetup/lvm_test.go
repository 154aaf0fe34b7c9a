package main

import (
	"bytes"
	"crypto/sha256"
	enc "encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// lvmImageNames are the disks testdata/lvm/lvm-oracle.sh ran on, in the guest's order
// (vda, vdb, then the others sorted: vdc, vdd).
var lvmImageNames = []string{"pv1", "pv2", "gpt", "mbr"}

// lvmImages unpacks the disks lvm2 wrote (testdata/lvm/NAME.img.gz; none named:
// lvmImageNames) into the sandbox and returns their paths in the order named.
func lvmImages(s *sandbox, names ...string) []string {
	if len(names) == 0 {
		names = lvmImageNames
	}
	var paths []string
	for _, n := range names {
		paths = append(paths, dmtest.Gunzip(s.t, filepath.Join("..", "..", "testdata", "lvm", n+".img.gz"), filepath.Join(s.dir, n+".img")))
	}
	return paths
}

// lvmOracle returns the blocks of testdata/lvm/NAME-oracle.out by their "== " heading.
func lvmOracle(t *testing.T, name string) map[string][]string {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "lvm", name+"-oracle.out"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[string][]string{}
	head := ""
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if h, ok := strings.CutPrefix(l, "== "); ok {
			head = h
			continue
		}
		blocks[head] = append(blocks[head], l)
	}
	return blocks
}

// kernelDisk matches a table's reference to one of the guest's virtio disks (major 254,
// 16 minors a disk) and the offset after it.
var kernelDisk = regexp.MustCompile(`254:(\d+) (\d+)`)

// onImages rewrites the guest's disk references in kernel table lines to the images and
// offsets gdmsetup uses: the image of the disk, the partition's start added (both partition
// 2s start at sector 18432).
func onImages(t *testing.T, lines []string, images []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = kernelDisk.ReplaceAllStringFunc(l, func(m string) string {
			sub := kernelDisk.FindStringSubmatch(m)
			minor, _ := strconv.Atoi(sub[1])
			off, _ := strconv.ParseUint(sub[2], 10, 64)
			if minor%16 == 2 {
				off += 18432
			} else if minor%16 != 0 {
				t.Fatalf("oracle table refers to 254:%d", minor)
			}
			return fmt.Sprintf("%s %d", images[minor/16], off)
		})
	}
	return out
}

// matching returns the lines of block that match re.
func matching(block []string, re string) []string {
	var out []string
	for _, l := range block {
		if regexp.MustCompile(re).MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

func lines(s string) []string { return strings.Split(strings.TrimRight(s, "\n"), "\n") }

func sameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got:\n%s\nwant (lvm2 in the kernel):\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// imagesUnchanged records the SHA-256 of the images and returns the check, for the end of a
// read-only activation, that none of them changed.
func imagesUnchanged(t *testing.T, imgs []string) func() {
	sum := func(p string) [32]byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(b)
	}
	before := make([][32]byte, len(imgs))
	for i, p := range imgs {
		before[i] = sum(p)
	}
	return func() {
		t.Helper()
		for i, p := range imgs {
			if sum(p) != before[i] {
				t.Errorf("%s changed under a read-only activation", p)
			}
		}
	}
}

// sameDevicesAsLvm2 compares the sandbox's devices with an oracle block that printed dmsetup
// ls, table, info -c -o name,uuid,attr,open and, if it holds lines of the table's shape after
// info's header, status, in that order: names, minors, tables (the guest's disks mapped to
// imgs), UUIDs, flags, open counts and status lines.
func (s *sandbox) sameDevicesAsLvm2(what string, block, imgs []string) {
	t := s.t
	t.Helper()
	header := slices.IndexFunc(block, func(l string) bool { return strings.HasPrefix(l, "Name ") })
	if header < 0 {
		t.Fatalf("%s: no info header in the oracle's block", what)
	}
	const targetLine = `^\S+: \d+ \d+ `
	sameLines(t, what+": ls", lines(s.ok("", "ls")), matching(block, `\t\(253:\d+\)$`))
	sameLines(t, what+": table", lines(s.ok("", "table")), onImages(t, matching(block[:header], targetLine), imgs))
	sameLines(t, what+": info", lines(s.ok("", "info", "-c", "-o", "name,uuid,attr,open")), matching(block, `^(Name|\S+ +LVM-)`))
	if status := matching(block[header:], targetLine); len(status) > 0 {
		sameLines(t, what+": status", lines(s.ok("", "status")), status)
	}
}

// lvmWriteBack activates imgs, writes dataBytes of random bytes at offBytes into each of lvs,
// deactivates vg (lvmDeactivate), activates imgs again and fails the test for each LV that
// does not read the bytes back. The VG is left active.
func (s *sandbox) lvmWriteBack(imgs []string, vg string, lvs []string, dataBytes, offBytes int) {
	s.t.Helper()
	activate := append([]string{"lvm", "activate"}, imgs...)
	s.ok("", activate...)
	data := string(dmtest.Random(dataBytes))
	for _, lv := range lvs {
		s.ok(data, "write", lv, "--offset", strconv.Itoa(offBytes))
	}
	s.lvmDeactivate(vg)
	s.ok("", activate...)
	for _, lv := range lvs {
		if got := s.ok("", "read", lv, "--offset", strconv.Itoa(offBytes), "--length", strconv.Itoa(dataBytes)); got != data {
			s.t.Errorf("%s: the bytes written do not read back", lv)
		}
	}
}

// lvmDeactivate runs `lvm deactivate VG...` and fails the test unless no device is left.
func (s *sandbox) lvmDeactivate(vgs ...string) {
	s.t.Helper()
	s.ok("", append([]string{"lvm", "deactivate"}, vgs...)...)
	if out := s.ok("", "ls"); out != "No devices found\n" {
		s.t.Fatalf("after lvm deactivate %s: %q", strings.Join(vgs, " "), out)
	}
}

// lvSHA is the SHA-256 of a device's whole content, read through gdmsetup.
func (s *sandbox) lvSHA(name string) string {
	return fmt.Sprintf("%x", sha256.Sum256([]byte(s.ok("", "read", name))))
}

// sameSHAAsLvm2 checks that each LV of an oracle block of "NAME SHA256" lines reads to that
// SHA-256.
func (s *sandbox) sameSHAAsLvm2(what string, block []string) {
	s.t.Helper()
	for _, l := range matching(block, `^\S+ [0-9a-f]{64}$`) {
		name, want, _ := strings.Cut(l, " ")
		if got := s.lvSHA(name); got != want {
			s.t.Errorf("%s %s: sha256 %s, lvm2 read %s", what, name, got, want)
		}
	}
}

// TestLvmActivateIsLvm2s activates the VGs lvm2 made in the kernel oracle from their disk
// images and compares names, minors, tables, UUIDs, flags, open counts and every LV's bytes
// with what lvm2's activation gave the kernel.
func TestLvmActivateIsLvm2s(t *testing.T) {
	s := newSandbox(t)
	imgs := lvmImages(s)
	oracle := lvmOracle(t, "lvm")
	act := oracle["vgchange -ay"]
	s.ok("", append([]string{"lvm", "activate", "--lv", "vg", "--lv", "other-vg"}, imgs...)...)
	s.sameDevicesAsLvm2("vgchange -ay", act, imgs)

	s.ok("", append([]string{"lvm", "activate", "--ignoreactivationskip", "--lv", "vg/snap1"}, imgs...)...)
	snap := oracle["lvchange -ay -K vg/snap1"]
	sameLines(t, "table vg-snap1", lines(s.ok("", "table", "vg-snap1")), snap[:1])
	sameLines(t, "info vg-snap1", lines(s.ok("", "info", "-c", "-o", "name,uuid,attr,open", "vg-snap1")), snap[1:])

	s.sameSHAAsLvm2("vgchange -ay", oracle["sha256"])
}

// TestLvmWriteBack writes into a thin volume and a linear one of the images, deactivates,
// activates again and reads the bytes back; thin_check passes the pool's metadata LV.
func TestLvmWriteBack(t *testing.T) {
	s := newSandbox(t)
	imgs := lvmImages(s)
	activate := append([]string{"lvm", "activate"}, imgs...)
	s.ok("", activate...)
	data := string(dmtest.Random(192 << 10))
	s.ok(data, "write", "vg-thin1", "--offset", "3145728")
	s.ok(data, "write", "other--vg-my--lv", "--offset", strconv.Itoa(73728*512-65536))
	s.lvmDeactivate("vg", "other-vg")
	s.ok("", activate...)
	for _, c := range []struct {
		name string
		off  int
	}{{"vg-thin1", 3145728}, {"other--vg-my--lv", 73728*512 - 65536}} {
		got := s.ok("", "read", c.name, "--offset", strconv.Itoa(c.off), "--length", strconv.Itoa(len(data)))
		if got != data {
			t.Errorf("%s: the bytes written do not read back", c.name)
		}
	}
	meta := filepath.Join(s.dir, "tmeta.img")
	if err := os.WriteFile(meta, []byte(s.ok("", "read", "vg-pool_tmeta")), 0o600); err != nil {
		t.Fatal(err)
	}
	s.ok("", "lvm", "deactivate", "vg", "other-vg")
	dmtest.RunPeer(t, "thin_check", meta)
}

// TestLvmReadOnly activates read-only: thin pools are read_only, writes fail, the images do
// not change.
func TestLvmReadOnly(t *testing.T) {
	s := newSandbox(t)
	imgs := lvmImages(s)
	unchanged := imagesUnchanged(t, imgs)
	s.ok("", append([]string{"lvm", "activate", "--readonly"}, imgs...)...)
	if got := s.ok("", "table", "vg-pool-tpool"); !strings.HasSuffix(got, " 128 0 1 read_only \n") {
		t.Errorf("read-only pool table: %q", got)
	}
	if r := s.run("x", "write", "vg-thin1"); r.code == 0 {
		t.Errorf("a write to a read-only activation succeeded")
	}
	s.lvSHA("vg-thin1")
	s.ok("", "lvm", "deactivate", "vg", "other-vg")
	unchanged()
}

// TestLvmScan lists the PVs, VGs and LVs of the images.
func TestLvmScan(t *testing.T) {
	s := newSandbox(t)
	imgs := lvmImages(s)
	out := s.ok("", append([]string{"lvm", "scan"}, imgs...)...)
	for _, want := range []string{
		"PV " + imgs[0] + ": id ",
		"PV " + imgs[3] + " partition 2 (sector 18432): id ",
		"VG vg: id ",
		"extent 8192 sectors, 2 of 2 PVs found\n",
		"  LV vg/lin: 24576 sectors, striped\n",
		"  LV vg/pool: 49152 sectors, thin-pool\n",
		"  LV vg/snap1: 65536 sectors, thin, skipped by activation\n",
		"  LV other-vg/my-lv: 122880 sectors, striped\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scan output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "pool_tmeta") {
		t.Errorf("scan lists a hidden LV:\n%s", out)
	}
	out = s.ok("", "lvm", "scan", imgs[0])
	if !strings.Contains(out, "1 of 2 PVs found\n  PV pv1 missing: id ") {
		t.Errorf("scan of one PV of two:\n%s", out)
	}
}

// lvmRefused runs `gdmsetup lvm ARGS...` and wants it to fail with stderr holding want and
// the devices as they were before it.
func (s *sandbox) lvmRefused(want string, a ...string) {
	s.t.Helper()
	before := s.ok("", "ls")
	r := s.run("", append([]string{"lvm"}, a...)...)
	if r.code == 0 || !strings.Contains(r.stderr, want) {
		s.t.Errorf("lvm %s: exit %d, stderr %q, want %q", strings.Join(a, " "), r.code, r.stderr, want)
	}
	if out := s.ok("", "ls"); out != before {
		s.t.Errorf("lvm %s left devices: %q", strings.Join(a, " "), out)
	}
}

// activateFails checks that `lvm activate a...` fails and says each of want on stderr.
func (s *sandbox) activateFails(want []string, a ...string) {
	s.t.Helper()
	r := s.run("", append([]string{"lvm", "activate"}, a...)...)
	if r.code == 0 {
		s.t.Errorf("lvm activate %s: exit 0", strings.Join(a, " "))
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			s.t.Errorf("lvm activate %s: stderr %q lacks %q", strings.Join(a, " "), r.stderr, w)
		}
	}
}

// TestLvmRefusals: what cannot be activated is refused with the reason, before anything is
// created.
func TestLvmRefusals(t *testing.T) {
	s := newSandbox(t)
	imgs := lvmImages(s)
	s.lvmRefused("refusing activation of partial LV vg/lin: ", "activate", "--lv", "vg/lin", imgs[0])
	s.lvmRefused("is not among the images", "activate", "--lv", "vg/lin", imgs[1])
	s.lvmRefused("LV vg/pool_tmeta is a hidden part of another LV", append([]string{"activate", "--lv", "vg/pool_tmeta"}, imgs...)...)
	s.lvmRefused("LV vg/snap1 is flagged to be skipped by activation", append([]string{"activate", "--lv", "vg/snap1"}, imgs...)...)
	s.lvmRefused("no volume group nosuch in the images", append([]string{"activate", "--lv", "nosuch"}, imgs...)...)
	s.lvmRefused("VG vg has no LV nosuch", append([]string{"activate", "--lv", "vg/nosuch"}, imgs...)...)
	s.lvmRefused("no LVM2 physical volume", "activate", s.file("empty.img", 1<<20))
	s.lvmRefused("unknown command", "bogus", imgs[0])
	s.lvmRefused("volume group vg has no active devices", "deactivate", "vg")

	s.ok("", "create", "vg-lin", "--uuid", "other", "--table", "0 8 zero")
	s.lvmRefused("device vg-lin already exists with UUID \"other\"", append([]string{"activate"}, imgs...)...)

	// Both copies of vg's metadata damaged: each is reported, and vg is not found.
	for _, p := range imgs[:2] {
		damageMetadataText(t, p)
	}
	r := s.run("", append([]string{"lvm", "activate", "--lv", "vg"}, imgs...)...)
	if r.code == 0 || strings.Count(r.stderr, "warning: ") != 2 || !strings.Contains(r.stderr, imgs[0]+": metadata text at byte ") || !strings.Contains(r.stderr, "no volume group vg in the images") {
		t.Errorf("damaged metadata: exit %d, stderr %q", r.code, r.stderr)
	}
	s.ok("", append([]string{"lvm", "activate", "--lv", "other-vg"}, imgs...)...)
}

// damageMetadataText flips a byte of the current metadata text of the PV image at path (its
// one metadata area at byte 4096: the text starts at the area plus raw_locn[0].offset).
func damageMetadataText(t *testing.T, path string) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var off [8]byte
	if _, err := f.ReadAt(off[:], 4096+40); err != nil {
		t.Fatal(err)
	}
	at := 4096 + int64(enc.LittleEndian.Uint64(off[:])) + 20
	b := []byte{0}
	f.ReadAt(b, at)
	if bytes.Equal(b, []byte{0}) {
		t.Fatalf("%s: no metadata text at byte %d", path, at)
	}
	b[0] ^= 0x20
	if _, err := f.WriteAt(b, at); err != nil {
		t.Fatal(err)
	}
}

// TestLvmPoolTransaction: a pool whose metadata holds another transaction than the VG's
// metadata expects is refused, as lvm2 refuses it, and the activation leaves nothing behind.
func TestLvmPoolTransaction(t *testing.T) {
	s := newSandbox(t)
	imgs := lvmImages(s)
	activate := append([]string{"lvm", "activate", "--lv", "vg/thin1"}, imgs...)
	s.ok("", activate...)
	s.ok("", "message", "vg-pool-tpool", "0", "set_transaction_id", "2", "3")
	s.ok("", "lvm", "deactivate", "vg")
	r := s.run("", activate...)
	if r.code == 0 || !strings.Contains(r.stderr, "vg-pool-tpool: transaction_id is 3 in the pool's metadata, the VG's metadata expects 2") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if out := s.ok("", "ls"); out != "No devices found\n" {
		t.Errorf("left behind: %q", out)
	}
}

// TestLvmPartial activates a VG one of whose three PVs is missing, as lvm2 did in the kernel
// oracle with the PV hidden by a filter (testdata/lvm/partial-oracle.sh): by default the LVs
// on the missing PV are refused and the others made, the command failing; naming only a
// refused LV makes nothing; --activationmode partial maps the missing areas to
// VG-LV-missing_S_A error devices. Names, minors, tables, UUIDs, flags, open counts and the
// complete LVs' bytes are lvm2's.
func TestLvmPartial(t *testing.T) {
	s := newSandbox(t)
	imgs := lvmImages(s, "p1", "p2", "p3")
	oracle := lvmOracle(t, "partial")
	present := []string{imgs[0], imgs[2]}
	compare := func(block string) { s.sameDevicesAsLvm2(block, oracle[block], imgs) }
	missing := "warning: VG vg is missing PV "
	refused := func(lv string) string { return "refusing activation of partial LV vg/" + lv + ": " }

	s.activateFails([]string{missing, refused("spans"), refused("str"), refused("onp2"), "3 LV(s) on missing PVs not activated"}, present...)
	compare("vgchange -ay (p2 missing)")
	s.ok("", "lvm", "deactivate", "vg")

	s.activateFails([]string{refused("spans")}, append([]string{"--lv", "vg/spans"}, present...)...)
	if out := s.ok("", "ls"); out != "No devices found\n" {
		t.Errorf("a refused LV alone left devices: %q", out)
	}

	r := s.run("", append([]string{"lvm", "activate", "--activationmode", "partial"}, present...)...)
	if r.code != 0 || !strings.Contains(r.stderr, missing) {
		t.Errorf("partial activation: exit %d, stderr %q", r.code, r.stderr)
	}
	compare("vgchange -ay --activationmode partial (p2 missing)")
	s.sameSHAAsLvm2("partial", oracle["sha256"])
	if r := s.run("", "read", "vg-spans"); r.code == 0 || !strings.Contains(r.stderr, "Input/output error") {
		t.Errorf("read of an LV with a missing area: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := s.run("", "lvm", "activate", "--activationmode", "all", imgs[0]); r.code == 0 || !strings.Contains(r.stderr, `--activationmode "all": expected complete, degraded or partial`) {
		t.Errorf("bad --activationmode: exit %d, stderr %q", r.code, r.stderr)
	}
	s.lvmDeactivate("vg")
}

// TestLvmDegraded activates raid and mirror LVs whose VG misses one of its three PVs in each
// of lvm2's activation modes, as lvm2 did in the kernel oracle (testdata/lvm/degraded-oracle.sh):
// degraded (the default) activates the raid1 and raid5 LVs with their members' missing areas
// on VG-LV_rimage_N-missing_0_0 error devices and refuses the mirror, complete refuses all
// three, partial activates the mirror too. Names, minors, tables, UUIDs, flags, open counts,
// status (the raid sets running degraded) and the activated LVs' bytes are lvm2's.
func TestLvmDegraded(t *testing.T) {
	s := newSandbox(t)
	imgs := lvmImages(s, "q1", "q2", "q3")
	oracle := lvmOracle(t, "degraded")
	present := []string{imgs[0], imgs[2]}
	for _, c := range []struct {
		mode    string
		refused []string
	}{
		{"degraded", []string{"m"}},
		{"complete", []string{"r1", "r5", "m"}},
		{"partial", nil},
	} {
		r := s.run("", append([]string{"lvm", "activate", "--activationmode", c.mode}, present...)...)
		if (r.code == 0) != (len(c.refused) == 0) || !strings.Contains(r.stderr, "warning: VG dvg is missing PV ") {
			t.Errorf("%s: exit %d, stderr %q", c.mode, r.code, r.stderr)
		}
		for _, lv := range c.refused {
			if !strings.Contains(r.stderr, "refusing activation of partial LV dvg/"+lv+": ") {
				t.Errorf("%s: dvg/%s not refused: %q", c.mode, lv, r.stderr)
			}
		}
		s.sameDevicesAsLvm2(c.mode, oracle["vgchange -ay --activationmode "+c.mode+" (q2 missing)"], imgs)
		s.sameSHAAsLvm2(c.mode, oracle["sha256 ("+c.mode+")"])
		s.ok("", "lvm", "deactivate", "dvg")
	}
}

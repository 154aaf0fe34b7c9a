package main

import (
	"bytes"
	le "encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/pdata/spacemap"
)

const thinTestXML = `<superblock uuid="" time="2" transaction="5" flags="0" version="2" data_block_size="128" nr_data_blocks="3000">
  <device dev_id="0" mapped_blocks="1301" transaction="0" creation_time="0" snap_time="2">
    <range_mapping origin_begin="0" data_begin="0" length="1300" time="0"/>
    <single_mapping origin_block="5000" data_block="2000" time="1"/>
  </device>
  <device dev_id="4" mapped_blocks="701" transaction="3" creation_time="2" snap_time="2">
    <range_mapping origin_begin="0" data_begin="0" length="700" time="0"/>
    <single_mapping origin_block="9999" data_block="2000" time="1"/>
  </device>
</superblock>
`

func thinTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed (thin-provisioning-tools)", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// thinRefusal is a `thin` command line (words; META stands for the metadata
// file) that must exit with code, print nothing on stdout, and say want on stderr.
type thinRefusal struct {
	args string
	code int
	want string
}

// expectThinRefusals runs `gdmsetup thin CMD` for each case with meta for META.
func expectThinRefusals(t *testing.T, cmd, meta string, cases []thinRefusal) {
	t.Helper()
	for _, c := range cases {
		args := append([]string{cmd}, strings.Fields(strings.ReplaceAll(c.args, "META", meta))...)
		code, out, errs := thinSuite.runT(t, args...)
		if code != c.code || out != "" || !strings.Contains(errs, c.want) {
			t.Errorf("thin %s %s: exit %d, stdout %q, stderr %q; want exit %d and %q", cmd, c.args, code, out, errs, c.code, c.want)
		}
	}
}

// restoredThinMeta restores thinTestXML with `thin restore` into an 8 MiB
// metadata file in a new directory; it returns both.
func restoredThinMeta(t *testing.T) (dir, meta string) {
	t.Helper()
	meta = restoreThinXML(t, thinTestXML)
	return filepath.Dir(meta), meta
}

func TestThinRestoreCheckDump(t *testing.T) {
	dir, meta := restoredThinMeta(t)
	if code, out, errs := thinSuite.runT(t, "check", meta); code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("check: %d %s %s", code, out, errs)
	}
	if code, out, errs := thinSuite.runT(t, "dump", meta); code != 0 || out != thinTestXML {
		t.Fatalf("dump: %d %s\n%s", code, errs, out)
	}
	if out, err := exec.Command(thinTool(t, "thin_check"), meta).CombinedOutput(); err != nil {
		t.Fatalf("thin_check of our restore: %v\n%s", err, out)
	}
	want, err := exec.Command(thinTool(t, "thin_dump"), meta).Output()
	if err != nil || string(want) != thinTestXML {
		t.Fatalf("thin_dump of our restore: %v\n%s", err, want)
	}
	outFile := filepath.Join(dir, "out.xml")
	if code, _, errs := thinSuite.runT(t, "dump", "-o", outFile, meta); code != 0 {
		t.Fatalf("dump -o: %s", errs)
	}
	if got, _ := os.ReadFile(outFile); string(got) != thinTestXML {
		t.Fatalf("dump -o wrote:\n%s", got)
	}
}

func TestThinCheckReportsDamage(t *testing.T) {
	_, meta := restoredThinMeta(t)
	img, _ := os.ReadFile(meta)
	// Flip a bit in every block until one that is in use is hit (block 1 onwards).
	for nr := 1; nr < 64; nr++ {
		bad := bytes.Clone(img)
		bad[nr*4096+200] ^= 1
		os.WriteFile(meta, bad, 0o600)
		code, _, errs := thinSuite.runT(t, "check", meta)
		if code == 0 {
			continue
		}
		if code != 1 || !regexp.MustCompile(`block \d+`).MatchString(errs) {
			t.Fatalf("block %d: exit %d, %s", nr, code, errs)
		}
		if c, _, _ := thinSuite.runT(t, "check", "-q", meta); c != 1 {
			t.Fatalf("check -q: exit %d", c)
		}
		return
	}
	t.Fatal("no bit flip was detected")
}

func TestThinUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"bogus"}, {"dump"}, {"restore", "-i", "x"}, {"check", "a", "b"}} {
		if code, _, errs := thinSuite.runT(t, args...); code != 1 || !strings.Contains(strings.ToLower(errs), "usage") {
			t.Errorf("%q: exit %d, %q", args, code, errs)
		}
	}
	if code, _, errs := thinSuite.runT(t, "dump", "/nonexistent/meta"); code != 1 || !strings.Contains(errs, "/nonexistent/meta") {
		t.Errorf("missing file: exit %d, %q", code, errs)
	}
	bad := filepath.Join(t.TempDir(), "bad.xml")
	os.WriteFile(bad, []byte("<superblock uuid=\"\" time=\"x\">"), 0o600)
	meta := filepath.Join(t.TempDir(), "meta")
	os.WriteFile(meta, make([]byte, 1<<20), 0o600)
	if code, _, errs := thinSuite.runT(t, "restore", "-i", bad, "-o", meta); code != 1 || !strings.Contains(errs, "bad.xml:1") {
		t.Errorf("bad xml: exit %d, %q", code, errs)
	}
}

// TestThinCheckClearsNeedsCheckAsThinCheck: --clear-needs-check-flag leaves the file
// byte for byte as the real thin_check does, says so once, and clears nothing on
// damaged metadata; a pool that was read-only for the flag comes up read-write.
func TestThinCheckClearsNeedsCheckAsThinCheck(t *testing.T) {
	check := thinTool(t, "thin_check")
	flagged := strings.Replace(thinTestXML, `flags="0"`, `flags="1"`, 1)
	if flagged == thinTestXML {
		t.Fatal("the test XML has no flags=\"0\" to set")
	}
	ours := restoreThinXML(t, flagged)
	theirs := filepath.Join(t.TempDir(), "theirs")
	if err := os.WriteFile(theirs, readFile(t, ours), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(check, "--clear-needs-check-flag", theirs).CombinedOutput(); err != nil {
		t.Fatalf("thin_check --clear-needs-check-flag: %v\n%s", err, out)
	}
	code, _, stderr := thinSuite.runT(t, "check", "--clear-needs-check-flag", ours)
	if code != 0 || !strings.Contains(stderr, "cleared needs_check flag") {
		t.Fatalf("thin check --clear-needs-check-flag: exit %d, stderr %q", code, stderr)
	}
	if !bytes.Equal(readFile(t, ours), readFile(t, theirs)) {
		t.Fatal("the metadata differs after thin_check's and gdmsetup's --clear-needs-check-flag")
	}
	if code, _, stderr := thinSuite.runT(t, "check", "--clear-needs-check-flag", ours); code != 0 || strings.Contains(stderr, "cleared") {
		t.Fatalf("clearing a clear flag: exit %d, stderr %q", code, stderr)
	}

	damaged := restoreThinXML(t, flagged)
	img := readFile(t, damaged)
	clear(img[4096:]) // every block but the superblock
	if err := os.WriteFile(damaged, img, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := thinSuite.runT(t, "check", "--clear-needs-check-flag", damaged); code != 1 || strings.Contains(stderr, "cleared") {
		t.Fatalf("damaged metadata: exit %d, stderr %q", code, stderr)
	}
	if !bytes.Equal(readFile(t, damaged), img) {
		t.Fatal("--clear-needs-check-flag wrote damaged metadata")
	}

	s := newSandbox(t)
	meta := restoreThinXML(t, flagged)
	s.file("data.img", 3000*64<<10)
	table := "0 384000 thin-pool " + meta + " data.img 128 0" // the XML's 3000 blocks of 64 KiB
	status := func() string {
		s.ok("", "create", "pool", "--table", table)
		defer s.ok("", "remove", "pool")
		return s.ok("", "status", "pool")
	}
	if st := status(); !strings.Contains(st, " ro ") || !strings.Contains(st, "needs_check") {
		t.Fatalf("pool on needs_check metadata: %q", st)
	}
	s.ok("", "thin", "check", "--clear-needs-check-flag", meta)
	if st := status(); !strings.Contains(st, " rw ") || strings.Contains(st, "needs_check") {
		t.Fatalf("pool after clearing needs_check: %q", st)
	}
}

// TestThinCheckOptionsAsThinCheck: -m, --super-block-only and --skip-mappings (and
// -m with each) give thin_check's exit code on intact metadata, with and without a
// held snapshot, and on metadata damaged where each option looks or does not: a
// device's mapping leaf, the details tree's root, the snapshot's superblock, the
// superblock.
func TestThinCheckOptionsAsThinCheck(t *testing.T) {
	check := thinTool(t, "thin_check")
	s := newSandbox(t)
	s.thinPool(16384)
	s.ok(strings.Repeat("a", 1<<20), "write", "thin")
	s.ok("", "message", "pool", "0", "reserve_metadata_snap")
	s.ok(strings.Repeat("b", 1<<20), "write", "thin", "--offset", "2M")
	s.ok("", "remove_all")
	withSnap := readFile(t, filepath.Join(s.dir, "meta.img"))
	held := int(le.LittleEndian.Uint64(withSnap[56:])) // the superblock's held_root
	if held == 0 {
		t.Fatal("no metadata snapshot held")
	}
	fixture := readFile(t, damagedFixture(t))
	zeroed := func(img []byte, blocks ...int) []byte {
		img = append([]byte(nil), img...)
		for _, b := range blocks {
			clear(img[b*4096 : (b+1)*4096])
		}
		return img
	}
	images := map[string][]byte{
		"no snapshot":          readFile(t, restoreThinXML(t, thinTestXML)),
		"snapshot held":        withSnap,
		"snapshot sb zeroed":   zeroed(withSnap, held),
		"kernel":               fixture,
		"kernel, dev 0 leaf":   zeroed(fixture, fixtureDev0Leaf),
		"kernel, details root": zeroed(fixture, 90),
		"kernel, sb zeroed":    zeroed(fixture, 0),
	}
	dir := t.TempDir()
	for name, img := range images {
		path := filepath.Join(dir, strings.NewReplacer(" ", "_", ",", "").Replace(name))
		if err := os.WriteFile(path, img, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, opts := range []string{"", "-m", "--super-block-only", "--skip-mappings", "-m --super-block-only", "-m --skip-mappings"} {
			args := append(strings.Fields(opts), path)
			want := 0
			if err := exec.Command(check, append([]string{"-q"}, args...)...).Run(); err != nil {
				want = 1
			}
			got, _, stderr := thinSuite.runT(t, append([]string{"check"}, args...)...)
			if got != want {
				t.Errorf("%s: thin check %s: exit %d, thin_check %d\n%s", name, opts, got, want, stderr)
			}
		}
		if !bytes.Equal(readFile(t, path), img) {
			t.Errorf("%s: a check wrote the metadata", name)
		}
	}
}

// leakMetadataBlock makes the last metadata block of the pool metadata in img
// leaked: counted once in its bitmap, referenced nowhere (the space map's index
// and root are left as they were, which thin_check does not look at).
func leakMetadataBlock(t *testing.T, img []byte) {
	t.Helper()
	const blockBytes = 4096
	index := le.LittleEndian.Uint64(img[192+16:]) // the metadata space map root's bitmap_root
	bitmap := le.LittleEndian.Uint64(img[index*blockBytes+16:])
	nrBlocks := le.LittleEndian.Uint64(img[192:])
	blk := img[bitmap*blockBytes : (bitmap+1)*blockBytes]
	if spacemap.BitmapGet(blk, uint32(nrBlocks-1)) != 0 {
		t.Fatal("the last metadata block is in use")
	}
	spacemap.BitmapSet(blk, uint32(nrBlocks-1), 1)
	spacemap.BitmapValidator.Prepare(blk, bitmap)
}

// TestThinCheckAutoRepairAsThinCheck: on metadata with a leaked block and the
// needs_check flag set, thin check's exit codes equal thin_check's with and
// without --ignore-non-fatal-errors and --override-mapping-root, and
// --auto-repair fixes it as thin_check --auto-repair does: both clear the flag,
// then pass a check and dump the same.
func TestThinCheckAutoRepairAsThinCheck(t *testing.T) {
	check := thinTool(t, "thin_check")
	ours := restoreThinXML(t, strings.Replace(thinTestXML, `flags="0"`, `flags="1"`, 1))
	img := readFile(t, ours)
	leakMetadataBlock(t, img)
	theirs := filepath.Join(t.TempDir(), "theirs")
	for _, p := range []string{ours, theirs} {
		if err := os.WriteFile(p, img, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mappingRoot := le.LittleEndian.Uint64(img[320:])
	detailsRoot := le.LittleEndian.Uint64(img[328:])
	for _, opts := range []string{
		"", "--ignore-non-fatal-errors", "--override-mapping-root " + strconv.FormatUint(mappingRoot, 10),
		"--override-mapping-root " + strconv.FormatUint(detailsRoot, 10), "--ignore-non-fatal-errors -m",
		"--override-mapping-root=+" + strconv.FormatUint(mappingRoot, 10) + " --ignore-non-fatal-errors",
	} {
		want := 0
		if err := exec.Command(check, append(strings.Fields(opts), theirs)...).Run(); err != nil {
			want = 1
		}
		got, _, stderr := thinSuite.runT(t, append(append([]string{"check"}, strings.Fields(opts)...), ours)...)
		if got != want {
			t.Errorf("thin check %s: exit %d, thin_check %d\n%s", opts, got, want, stderr)
		}
	}
	if !bytes.Equal(readFile(t, ours), img) {
		t.Fatal("a check without a fix wrote the metadata")
	}

	out, err := exec.Command(check, "--auto-repair", theirs).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "fixed metadata leaks") || !strings.Contains(string(out), "cleared needs_check flag") {
		t.Fatalf("thin_check --auto-repair: %v\n%s", err, out)
	}
	code, stdout, stderr := thinSuite.runT(t, "check", "--auto-repair", ours)
	if code != 0 || !strings.Contains(stderr, "fixed metadata leaks\ncleared needs_check flag\n") || !strings.Contains(stdout, "ok: 1 leaked block(s) freed") {
		t.Fatalf("thin check --auto-repair: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, p := range []string{ours, theirs} {
		if out, err := exec.Command(check, p).CombinedOutput(); err != nil {
			t.Errorf("thin_check %s after --auto-repair: %v\n%s", p, err, out)
		}
	}
	if code, stdout, stderr := thinSuite.runT(t, "check", ours); code != 0 || stdout != ours+": ok\n" {
		t.Errorf("thin check after --auto-repair: exit %d\n%s%s", code, stdout, stderr)
	}
	dump := func(p string) string {
		out, err := exec.Command(thinTool(t, "thin_dump"), p).Output()
		if err != nil {
			t.Fatalf("thin_dump %s: %v", p, err)
		}
		return string(out)
	}
	if a, b := dump(theirs), dump(ours); a != b {
		t.Errorf("thin_dump after thin_check --auto-repair:\n%s\nafter thin check --auto-repair:\n%s", a, b)
	}
}

// TestThinRestoreOverridesAsThinRestore: thin restore's --transaction-id,
// --data-block-size and --nr-data-blocks replace the XML's superblock fields as
// thin_restore's do (thin_dump prints the same for both files, and a
// --data-block-size above 32 bits keeps its low 32 bits in both); a zero data
// block size, which thin_restore writes, is refused and writes nothing.
func TestThinRestoreOverridesAsThinRestore(t *testing.T) {
	restore, dump := thinTool(t, "thin_restore"), thinTool(t, "thin_dump")
	dir := t.TempDir()
	xml := filepath.Join(dir, "pool.xml")
	if err := os.WriteFile(xml, []byte(thinTestXML), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, opts := range []string{
		"--transaction-id 9 --data-block-size 256 --nr-data-blocks 5000",
		"--data-block-size=4294967424 --transaction-id=-1",
	} {
		theirs, ours := filepath.Join(dir, "theirs"), filepath.Join(dir, "ours")
		for _, p := range []string{theirs, ours} {
			if err := os.WriteFile(p, make([]byte, 4<<20), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		args := append([]string{"-i", xml}, strings.Fields(opts)...)
		if out, err := exec.Command(restore, append(args, "-o", theirs)...).CombinedOutput(); err != nil {
			t.Fatalf("thin_restore %s: %v\n%s", opts, err, out)
		}
		if code, _, stderr := thinSuite.runT(t, append(append([]string{"restore"}, args...), "-o", ours)...); code != 0 {
			t.Fatalf("thin restore %s: exit %d\n%s", opts, code, stderr)
		}
		want, err := exec.Command(dump, theirs).Output()
		if err != nil {
			t.Fatal(err)
		}
		got, err := exec.Command(dump, ours).Output()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("restore %s: thin_dump of ours\n%s\nof thin_restore's\n%s", opts, got, want)
		}
	}
	out := filepath.Join(dir, "zero")
	if err := os.WriteFile(out, make([]byte, 4<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := thinSuite.runT(t, "restore", "-i", xml, "-o", out, "--data-block-size", "0")
	if code != 1 || !strings.Contains(stderr, "data block size must not be zero") {
		t.Errorf("restore --data-block-size 0: exit %d, %q", code, stderr)
	}
	if !bytes.Equal(readFile(t, out), make([]byte, 4<<20)) {
		t.Error("a refused restore wrote the metadata")
	}
}

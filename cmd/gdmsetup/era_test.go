package main

import (
	le "encoding/binary"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/pdata/btree"
)

// eraOriginBlocks is the origin's size in 4 KiB era blocks in eraTargetMeta: a
// writeset of that many bits spans two array blocks, the era array 40.
const eraOriginBlocks = 40000

// eraTargetMeta returns era metadata written by gdmsetup's era target (in a
// sandbox's shell): writes over the whole origin in three eras, a checkpoint
// between them, then a metadata snapshot held (which archives the last era).
func eraTargetMeta(t *testing.T) string {
	t.Helper()
	s := newSandbox(t)
	meta := s.file("meta.img", 8<<20)
	s.file("origin.img", eraOriginBlocks*4096)
	var script strings.Builder
	fmt.Fprintf(&script, "create e --table \"0 %d era meta.img origin.img 8\"\n", eraOriginBlocks*8)
	rng := rand.New(rand.NewSource(1))
	for era := 0; era < 3; era++ {
		for i := 0; i < 6; i++ {
			fmt.Fprintf(&script, "discard e --offset %d --length 4096\n", rng.Intn(eraOriginBlocks)*4096)
		}
		script.WriteString("message e 0 checkpoint\n")
	}
	script.WriteString("message e 0 take_metadata_snap\n")
	s.ok(script.String(), "shell")
	return meta
}

// eraRestoredMeta returns era metadata written by era_restore 0.9.0 from XML with
// 250 archived writesets of 1200 bits (a writeset tree of several nodes).
func eraRestoredMeta(t *testing.T) (meta, xmlPath string) {
	t.Helper()
	tool := thinTool(t, "era_restore")
	dir := t.TempDir()
	xmlPath = filepath.Join(dir, "in.xml")
	rng := rand.New(rand.NewSource(2))
	var b strings.Builder
	b.WriteString(`<superblock uuid="" block_size="16" nr_blocks="1200" current_era="260">` + "\n")
	for era := 1; era <= 250; era++ {
		fmt.Fprintf(&b, "  <writeset era=\"%d\" nr_bits=\"%d\">\n", era, 1200)
		for i := 0; i < 1200; i++ {
			fmt.Fprintf(&b, "    <bit block=\"%d\" value=\"%t\"/>\n", i, rng.Intn(500) == 0)
		}
		b.WriteString("  </writeset>\n")
	}
	b.WriteString("  <era_array>\n")
	for i := 0; i < 1200; i++ {
		fmt.Fprintf(&b, "    <era block=\"%d\" era=\"%d\"/>\n", i, rng.Intn(255))
	}
	b.WriteString("  </era_array>\n</superblock>\n")
	if err := os.WriteFile(xmlPath, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	meta = filepath.Join(dir, "meta.img")
	if err := os.WriteFile(meta, make([]byte, 8<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runThinToolBinary(t, "era_restore", []string{"-i", xmlPath, "-o", meta}); r.code != 0 {
		t.Fatalf("%s: %+v", tool, r)
	}
	return meta, xmlPath
}

// eraMessage is a tool's stderr without the name and input before it: ours say
// "gdmsetup era dump: INPUT: why" (INPUT one of the command line's words), the
// tools "why" (getopt's "PROG: why").
func eraMessage(stderr, prog string, words []string) string {
	for _, w := range words {
		if rest, ok := strings.CutPrefix(stderr, prog+": "+w+": "); ok {
			return rest
		}
	}
	if rest, ok := strings.CutPrefix(stderr, prog+": "); ok {
		return rest
	}
	return stderr
}

// boostAssertion starts what era_check 0.9.0 prints when it aborts on damage
// that reaches the end of a tree (it reads the lost run's unset end).
const boostAssertion = "era_check: /usr/include/boost/optional/optional.hpp"

// compareEraTool runs `gdmsetup era cmd args` and the tool era_cmd on the same
// words, as compareSuiteTool compares them.
func compareEraTool(t *testing.T, cmd string, words []string) {
	t.Helper()
	compareSuiteTool(t, eraSuite, cmd, words)
}

// compareSuiteTool runs `gdmsetup SUITE cmd args` and the tool SUITE_cmd on the
// same words: exit codes equal; stdout equal (the usage's name ours); stderr
// equal apart from the program's name and the input it names. Where era_check
// aborts (boostAssertion), we exit 1 after the same report, the run's end
// printed "-)".
func compareSuiteTool(t *testing.T, suite *toolSuite, cmd string, words []string) {
	t.Helper()
	tool, prog := suite.word+"_"+cmd, "gdmsetup "+suite.word+" "+cmd
	want := runThinToolBinary(t, tool, words)
	code, stdout, stderr := suite.runT(t, append([]string{cmd}, words...)...)
	line := cmd + " " + strings.Join(words, " ")
	if before, _, aborted := strings.Cut(want.stderr, boostAssertion); aborted && want.code == -1 {
		if code != 1 || !strings.HasPrefix(stderr, before) || before != "" && !strings.Contains(stderr[len(before):], "-)") {
			t.Errorf("%s: exit %d, stderr %q; %s aborted after %q", line, code, stderr, tool, before)
		}
		return
	}
	if code != want.code {
		t.Errorf("%s: exit %d, stderr %q; %s: exit %d, stderr %q", line, code, stderr, tool, want.code, want.stderr)
		return
	}
	wantOut := strings.ReplaceAll(want.stdout, "Usage: "+tool, "Usage: "+prog)
	if want.stdout == thinToolsVersion+"\n" {
		wantOut = toolVersion() + "\n"
	}
	if stdout != wantOut {
		t.Errorf("%s: stdout\n%.2000s\n%s's:\n%.2000s", line, stdout, tool, wantOut)
	}
	wantErr := eraMessage(strings.ReplaceAll(want.stderr, "Usage: "+tool, "Usage: "+prog), tool, nil)
	if got := eraMessage(stderr, prog, words); got != wantErr {
		t.Errorf("%s: stderr\n%q\n%s's:\n%q", line, got, tool, wantErr)
	}
}

// TestEraCommandLinesAsTools runs command lines through gdmsetup's era commands
// and era_* 0.9.0 on the same metadata (written by gdmsetup's era target, and by
// era_restore): exit codes, stdout (XML byte for byte) and stderr compared.
func TestEraCommandLinesAsTools(t *testing.T) {
	target := eraTargetMeta(t)
	restored, xmlPath := eraRestoredMeta(t)
	dir := t.TempDir()
	small := filepath.Join(dir, "small.img")
	os.WriteFile(small, make([]byte, 100), 0o600)
	zero := filepath.Join(dir, "zero.img")
	os.WriteFile(zero, make([]byte, 1<<20), 0o600)
	cases := []string{
		"dump META", "dump --logical META", "dump --repair META", "dump META --rep --log", "dump -o - META",
		"dump", "dump -x META", "dump --bogus META", "dump --logical=1 META", "dump -h", "dump --he --bogus",
		"dump -V", "dump --vers META", "dump -o", "dump META extra", "dump -- META",
		"dump SMALL", "dump ZERO", "dump /nonexistent", "dump /tmp",
		"invalidate --written-since 0 META", "invalidate --written-since 1 META", "invalidate --written-since=2 META",
		"invalidate --wr 3 --metadata-snapshot META", "invalidate META --written-since 100",
		"invalidate --written-since 4294967295 META", "invalidate --written-since -1 META",
		"invalidate --written-since 4294967296 META", "invalidate --written-since x META", "invalidate --written-since +7 META",
		"invalidate META", "invalidate --written-since 1", "invalidate", "invalidate --written-since",
		"invalidate --m --written-since 1 META", "invalidate --written-since 1 --metadata-snapshot ZERO",
		"invalidate -h", "invalidate -V", "invalidate -Z META",
		"check META", "check -q META", "check --super META", "check --quiet --super-block-only META",
		"check", "check -q", "check SMALL", "check ZERO", "check -q ZERO", "check /nonexistent", "check /dev/null",
		"check --ignore-non-fatal-errors META", "check -h", "check -V", "check -qh",
		"restore", "restore -i XML", "restore -o OUT", "restore -i XML -o /nonexistent/x", "restore -i XML -o SMALL",
		"restore -i XML -o OUT extra", "restore -i /nonexistent -o OUT", "restore -h", "restore -V", "restore --in",
	}
	for _, meta := range []string{target, restored} {
		for _, c := range cases {
			out := filepath.Join(t.TempDir(), "out")
			os.WriteFile(out, make([]byte, 4<<20), 0o600)
			r := strings.NewReplacer("META", meta, "SMALL", small, "ZERO", zero, "XML", xmlPath, "OUT", out)
			words := strings.Fields(r.Replace(c))
			compareEraTool(t, words[0], words[1:])
		}
	}
}

// TestEraRestoreRoundTrip: what gdmsetup era restore writes from era_dump's XML
// passes era_check, dumps back identically (with era_dump and ours), and opens
// in gdmsetup's era target, which then goes on recording writes.
func TestEraRestoreRoundTrip(t *testing.T) {
	for _, src := range []string{eraTargetMeta(t), func() string { m, _ := eraRestoredMeta(t); return m }()} {
		want := runThinToolBinary(t, "era_dump", []string{src})
		s := newSandbox(t)
		xmlPath := filepath.Join(s.dir, "in.xml")
		os.WriteFile(xmlPath, []byte(want.stdout), 0o600)
		meta := s.file("meta.img", 8<<20)
		if code, _, stderr := eraSuite.runT(t, "restore", "-i", xmlPath, "-o", meta); code != 0 {
			t.Fatalf("restore: %s", stderr)
		}
		if r := runThinToolBinary(t, "era_check", []string{meta}); r.code != 0 {
			t.Fatalf("era_check of restored metadata: %+v", r)
		}
		if r := runThinToolBinary(t, "era_dump", []string{meta}); r.stdout != want.stdout {
			t.Fatalf("era_dump of restored metadata differs")
		}
		if _, out, _ := eraSuite.runT(t, "dump", meta); out != want.stdout {
			t.Fatalf("gdmsetup era dump of restored metadata differs")
		}
		var hdr [4096]byte
		f, _ := os.Open(meta)
		f.ReadAt(hdr[:], 0)
		f.Close()
		blockSectors := le.LittleEndian.Uint32(hdr[172:])
		nrBlocks := le.LittleEndian.Uint32(hdr[180:])
		s.file("origin.img", int64(nrBlocks)*int64(blockSectors)*512)
		s.ok("", "create", "e", "--table", fmt.Sprintf("0 %d era meta.img origin.img %d", uint64(nrBlocks)*uint64(blockSectors), blockSectors))
		s.ok("x", "write", "e", "--offset", "0")
		s.ok("", "message", "e", "0", "take_metadata_snap")
		s.ok("", "remove", "e")
		if r := runThinToolBinary(t, "era_check", []string{meta}); r.code != 0 {
			t.Fatalf("era_check after the target ran: %+v", r)
		}
		if code, out, _ := eraSuite.runT(t, "invalidate", "--written-since", "4294967295", meta); code != 0 || out != "<blocks>\n</blocks>\n" {
			t.Fatalf("invalidate: %d %q", code, out)
		}
	}
}

// damageEra changes meta's block b with fn, then reseals its checksum with salt
// unless salt is 0.
func damageEra(t *testing.T, src string, b uint64, salt uint32, fn func(d []byte)) string {
	t.Helper()
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	d := raw[b*block.BlockSize : (b+1)*block.BlockSize]
	fn(d)
	if salt != 0 {
		block.SetChecksum(d, salt)
	}
	out := filepath.Join(t.TempDir(), "damaged.img")
	if err := os.WriteFile(out, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// eraBlockAt reads a u64 at off of block b of meta.
func eraBlockAt(t *testing.T, meta string, b uint64, off int) uint64 {
	raw, err := os.ReadFile(meta)
	if err != nil {
		t.Fatal(err)
	}
	return le.LittleEndian.Uint64(raw[b*block.BlockSize+uint64(off):])
}

// TestEraToolsOnDamage damages era metadata where the tools look (superblock
// fields, writeset tree nodes, bitset and era array blocks, checksums or
// resealed contents) and compares each command with its tool: exit code,
// stdout (era_dump --repair's XML of what survives) and stderr.
func TestEraToolsOnDamage(t *testing.T) {
	meta, _ := eraRestoredMeta(t)
	const (
		sbSalt    = 146538381
		arraySalt = 595846735
		offWSTree = 200
		offEras   = 208
	)
	wsRoot := eraBlockAt(t, meta, 0, offWSTree)
	eraRoot := eraBlockAt(t, meta, 0, offEras)
	// the writeset tree's first child, its first leaf's first value's bitset
	// root, and the era array's second array block
	child := eraBlockAt(t, meta, wsRoot, btree.NodeHeaderSize+8*int(btree.CalcMaxEntries(8)))
	firstBitset := eraBlockAt(t, meta, child, btree.NodeHeaderSize+8*int(btree.CalcMaxEntries(12))+4)
	secondArrayBlock := eraBlockAt(t, meta, eraRoot, btree.NodeHeaderSize+8*int(btree.CalcMaxEntries(8))+8)
	bitsetBlock := eraBlockAt(t, meta, firstBitset, btree.NodeHeaderSize+8*int(btree.CalcMaxEntries(8)))
	flip := func(off int) func([]byte) { return func(d []byte) { d[off] ^= 0xff } }
	put32 := func(off int, v uint32) func([]byte) {
		return func(d []byte) { le.LittleEndian.PutUint32(d[off:], v) }
	}
	put64 := func(off int, v uint64) func([]byte) {
		return func(d []byte) { le.LittleEndian.PutUint64(d[off:], v) }
	}
	damaged := []struct {
		name string
		img  string
	}{
		{"superblock checksum", damageEra(t, meta, 0, 0, flip(100))},
		{"superblock magic", damageEra(t, meta, 0, sbSalt, put64(32, 7))},
		{"superblock version", damageEra(t, meta, 0, sbSalt, put32(40, 2))},
		{"superblock metadata block size", damageEra(t, meta, 0, sbSalt, put32(176, 16))},
		{"superblock roots", damageEra(t, meta, 0, sbSalt, put64(offWSTree, 0))},
		{"superblock blocknr", damageEra(t, meta, 0, sbSalt, put64(8, 1<<40))},
		{"superblock as XML", damageEra(t, meta, 0, 0, func(d []byte) { copy(d, "<superblock uuid") })},
		{"era past the current", damageEra(t, meta, 0, sbSalt, put32(184, 3))},
		{"writeset tree root checksum", damageEra(t, meta, wsRoot, 0, flip(100))},
		{"writeset tree leaf checksum", damageEra(t, meta, child, 0, flip(100))},
		{"writeset tree leaf nr_entries", damageEra(t, meta, child, btree.CsumSalt, put32(16, 1))},
		{"writeset tree leaf keys", damageEra(t, meta, child, btree.CsumSalt, put64(btree.NodeHeaderSize+8, 0))},
		{"writeset tree leaf value size", damageEra(t, meta, child, btree.CsumSalt, put32(24, 8))},
		{"writeset tree node type", damageEra(t, meta, child, btree.CsumSalt, put32(4, 3))},
		{"bitset tree checksum", damageEra(t, meta, firstBitset, 0, flip(100))},
		{"bitset array block checksum", damageEra(t, meta, bitsetBlock, 0, flip(100))},
		{"bitset array block nr_entries", damageEra(t, meta, bitsetBlock, arraySalt, put32(8, 2))},
		{"era array root checksum", damageEra(t, meta, eraRoot, 0, flip(100))},
		{"era array block checksum", damageEra(t, meta, secondArrayBlock, 0, flip(100))},
		{"era array block location", damageEra(t, meta, secondArrayBlock, arraySalt, put64(16, 3))},
		{"era array block nr_entries", damageEra(t, meta, secondArrayBlock, arraySalt, put32(8, 5))},
	}
	for _, d := range damaged {
		for _, c := range [][]string{
			{"check", d.img}, {"check", "-q", d.img}, {"dump", d.img}, {"dump", "--repair", d.img},
			{"dump", "--repair", "--logical", d.img}, {"invalidate", "--written-since", "100", d.img},
		} {
			t.Run(d.name, func(t *testing.T) { compareEraTool(t, c[0], c[1:]) })
		}
	}
}

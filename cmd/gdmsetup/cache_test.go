package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/pdata/block"
)

// cacheXML is a cache_dump document of nrBlocks cache blocks of 128 sectors,
// nrMappings of them mapped (half dirty) with smq hints.
func cacheXML(nrBlocks, nrMappings int, seed int64) string {
	rng := rand.New(rand.NewSource(seed))
	cbs := rng.Perm(nrBlocks)[:nrMappings]
	obs := rng.Perm(nrBlocks * 4)[:nrMappings]
	var b strings.Builder
	fmt.Fprintf(&b, "<superblock uuid=\"\" block_size=\"128\" nr_cache_blocks=\"%d\" policy=\"smq\" hint_width=\"4\">\n  <mappings>\n", nrBlocks)
	inOrder := make([]int, nrBlocks)
	for i := range inOrder {
		inOrder[i] = -1
	}
	for i, cb := range cbs {
		inOrder[cb] = obs[i]
	}
	for cb, ob := range inOrder {
		if ob >= 0 {
			fmt.Fprintf(&b, "    <mapping cache_block=\"%d\" origin_block=\"%d\" dirty=\"%t\"/>\n", cb, ob, cb%2 == 0)
		}
	}
	b.WriteString("  </mappings>\n  <hints>\n")
	for cb, ob := range inOrder {
		if ob >= 0 {
			fmt.Fprintf(&b, "    <hint cache_block=\"%d\" data=\"%s\"/>\n", cb, base64.StdEncoding.EncodeToString([]byte{byte(rng.Intn(64)), 0, 0, 0}))
		}
	}
	b.WriteString("  </hints>\n</superblock>\n")
	return b.String()
}

// cacheFile writes a zeroed file of sizeBytes in dir and returns its path.
func cacheFile(t *testing.T, dir, name string, sizeBytes int64) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, make([]byte, sizeBytes), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// cacheRestored writes doc and returns it with the metadata cache_restore 0.9.0
// and `gdmsetup cache restore` write from it (format version).
func cacheRestored(t *testing.T, doc string, version int) (xmlPath, theirs, ours string) {
	t.Helper()
	dir := t.TempDir()
	xmlPath = filepath.Join(dir, "in.xml")
	if err := os.WriteFile(xmlPath, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	theirs, ours = cacheFile(t, dir, "theirs.img", 8<<20), cacheFile(t, dir, "ours.img", 8<<20)
	v := fmt.Sprint(version)
	if r := runThinToolBinary(t, "cache_restore", []string{"-i", xmlPath, "-o", theirs, "--metadata-version", v}); r.code != 0 {
		t.Fatalf("cache_restore: %+v", r)
	}
	if code, _, stderr := cacheSuite.runT(t, "restore", "-i", xmlPath, "-o", ours, "--metadata-version", v); code != 0 {
		t.Fatalf("gdmsetup cache restore: %s", stderr)
	}
	return xmlPath, theirs, ours
}

// cacheImages are metadata the kernel wrote (format 1 and 2) and metadata
// cache_restore and gdmsetup wrote from XML of 140000 cache blocks (array
// trees with internal nodes), by name.
func cacheImages(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	imgs := map[string]string{}
	for _, v := range []int{1, 2} {
		imgs[fmt.Sprintf("kernel v%d", v)] = dmtest.Gunzip(t, fmt.Sprintf("../../targets/cache/testdata/kernel-meta%d.img.gz", v), filepath.Join(dir, fmt.Sprintf("k%d.img", v)))
		_, theirs, ours := cacheRestored(t, cacheXML(140000, 900, int64(v)), v)
		imgs[fmt.Sprintf("cache_restore v%d", v)], imgs[fmt.Sprintf("gdmsetup restore v%d", v)] = theirs, ours
	}
	return imgs
}

// TestCacheCommandLinesAsTools runs command lines through `gdmsetup cache` and
// the cache_* tools 0.9.0 on the same metadata: exit codes, stdout (XML byte
// for byte) and stderr compared.
func TestCacheCommandLinesAsTools(t *testing.T) {
	imgs := cacheImages(t)
	dir := t.TempDir()
	tiny := cacheFile(t, dir, "tiny.img", 100)
	for name, img := range imgs {
		for _, line := range []string{"check", "check -q", "check --super-block-only", "check --skip-mappings",
			"check --skip-hints", "check --skip-discards", "dump", "dump --repair"} {
			words := strings.Fields(line)
			t.Run(name+"/"+line, func(t *testing.T) { compareSuiteTool(t, cacheSuite, words[0], append(words[1:], img)) })
		}
	}
	for _, line := range []string{"check", "check -h", "check -V", "check --bogus", "dump", "dump -x", "check " + tiny,
		"check " + filepath.Join(dir, "none"), "dump " + filepath.Join(dir, "none"), "dump " + tiny,
		"restore", "restore -i x", "repair", "repair -i x", "writeback", "writeback --metadata-device m",
		"metadata_size --nr-blocks 1000"} {
		words := strings.Fields(line)
		t.Run(line, func(t *testing.T) { compareSuiteTool(t, cacheSuite, words[0], words[1:]) })
	}
}

// TestCacheMetadataSizeGrid compares cache_metadata_size's numbers and refusals
// over a grid of inputs.
func TestCacheMetadataSizeGrid(t *testing.T) {
	var lines []string
	for _, n := range []string{"0", "1", "31", "32", "1000", "123456789", "18446744073709551615", "-5"} {
		lines = append(lines, "--nr-blocks "+n)
		for _, w := range []string{"0", "4", "128", "4294967295"} {
			lines = append(lines, "--nr-blocks "+n+" --max-hint-width "+w)
		}
	}
	for _, dev := range []string{"0", "1000", "2097152", "1000000007"} {
		for _, bs := range []string{"64", "128", "2097152"} {
			lines = append(lines, "--device-size "+dev+" --block-size "+bs, "--device-size "+dev+" --block-size "+bs+" --nr-blocks 15")
		}
	}
	lines = append(lines, "", "--device-size 100", "--block-size 100", "--nr-blocks x", "--bogus", "-h", "-V", "--nr=7")
	for _, line := range lines {
		t.Run(line, func(t *testing.T) { compareSuiteTool(t, cacheSuite, "metadata_size", strings.Fields(line)) })
	}
}

// damageCache returns a copy of src with block b changed by fn.
func damageCache(t *testing.T, src string, b int64, fn func(d []byte)) string {
	t.Helper()
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	fn(raw[b*block.BlockSize : (b+1)*block.BlockSize])
	out := filepath.Join(t.TempDir(), "damaged.img")
	if err := os.WriteFile(out, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCacheToolsOnDamage zeroes or garbles blocks of restored metadata (the
// superblock, array tree nodes, mapping and hint array blocks) and compares
// check, dump and dump --repair with the tools'.
func TestCacheToolsOnDamage(t *testing.T) {
	imgs := cacheImages(t)
	step := int64(3)
	if testing.Short() {
		step = 17
	}
	for _, name := range []string{"cache_restore v1", "cache_restore v2", "gdmsetup restore v2"} {
		for b := int64(0); b < 120; b += step {
			for mode, fn := range map[string]func([]byte){
				"zeroed":   func(d []byte) { clear(d) },
				"garbled":  func(d []byte) { copy(d[100:], "\x55\x66\x77") },
				"reversed": func(d []byte) { d[16], d[17] = d[17], d[16] },
			} {
				img := damageCache(t, imgs[name], b, fn)
				for _, cmd := range [][]string{{"check"}, {"dump"}, {"dump", "--repair"}} {
					t.Run(fmt.Sprintf("%s/block %d %s/%s", name, b, mode, strings.Join(cmd, " ")), func(t *testing.T) {
						compareSuiteTool(t, cacheSuite, cmd[0], append(cmd[1:], img))
					})
				}
			}
		}
	}
}

// cacheDumpOf is the real cache_dump's XML of meta.
func cacheDumpOf(t *testing.T, meta string) string {
	t.Helper()
	r := runThinToolBinary(t, "cache_dump", []string{meta})
	if r.code != 0 {
		t.Fatalf("cache_dump %s: %+v", meta, r)
	}
	return r.stdout
}

// TestCacheRestoreAsTool: what `gdmsetup cache restore` writes passes the real
// cache_check and dumps, with the real cache_dump, as cache_restore's output
// does; so does what `gdmsetup cache repair` writes, against cache_repair's,
// from intact and damaged metadata.
func TestCacheRestoreAsTool(t *testing.T) {
	for _, v := range []int{1, 2} {
		xmlPath, theirs, ours := cacheRestored(t, cacheXML(3000, 700, 7), v)
		if r := runThinToolBinary(t, "cache_check", []string{ours}); r.code != 0 {
			t.Fatalf("v%d: cache_check of ours: %+v", v, r)
		}
		want := cacheDumpOf(t, theirs)
		if got := cacheDumpOf(t, ours); got != want {
			t.Errorf("v%d: cache_dump of ours differs from cache_restore's:\n%.500s\nwant\n%.500s", v, got, want)
		}
		if raw, _ := os.ReadFile(xmlPath); v == 1 && want != string(raw) {
			t.Errorf("v1: cache_dump of cache_restore's output is not the XML")
		}
		for _, b := range []int64{-1, 3, 5} {
			src := theirs
			if b >= 0 {
				src = damageCache(t, theirs, b, func(d []byte) { clear(d) })
			}
			dir := t.TempDir()
			theirRepair, ourRepair := cacheFile(t, dir, "a.img", 8<<20), cacheFile(t, dir, "b.img", 8<<20)
			r := runThinToolBinary(t, "cache_repair", []string{"-i", src, "-o", theirRepair})
			code, _, stderr := cacheSuite.runT(t, "repair", "-i", src, "-o", ourRepair)
			if code != r.code {
				t.Fatalf("v%d block %d: repair exit %d (%s), cache_repair %d (%s)", v, b, code, stderr, r.code, r.stderr)
			}
			if code == 0 && cacheDumpOf(t, ourRepair) != cacheDumpOf(t, theirRepair) {
				t.Errorf("v%d block %d: repaired metadata dumps differently", v, b)
			}
		}
	}
}

// TestCacheWritebackAsTool copies the dirty blocks of restored metadata back to
// an origin with cache_writeback and with `gdmsetup cache writeback
// --no-metadata-update`: the origins must be equal, and the reports (past the
// progress bar). Then our metadata update: the real cache_check passes and
// cache_dump lists every mapping clean. Format 2: we write back the dirty
// blocks 0.9.0 does not see.
func TestCacheWritebackAsTool(t *testing.T) {
	for _, v := range []int{1, 2} {
		_, theirs, _ := cacheRestored(t, cacheXML(64, 20, 9), v)
		dir := t.TempDir()
		fast := filepath.Join(dir, "fast.img")
		if err := os.WriteFile(fast, dmtest.Random(64<<16), 0o600); err != nil {
			t.Fatal(err)
		}
		originData := dmtest.Random(256 << 16)
		origins := [2]string{filepath.Join(dir, "o1.img"), filepath.Join(dir, "o2.img")}
		metas := [2]string{filepath.Join(dir, "m1.img"), filepath.Join(dir, "m2.img")}
		raw, _ := os.ReadFile(theirs)
		for i := range origins {
			os.WriteFile(origins[i], originData, 0o600)
			os.WriteFile(metas[i], raw, 0o600)
		}
		args := func(i int) []string {
			return []string{"--metadata-device", metas[i], "--origin-device", origins[i], "--fast-device", fast, "--no-metadata-update"}
		}
		r := runThinToolBinary(t, "cache_writeback", args(0))
		code, stdout, stderr := cacheSuite.runT(t, append([]string{"writeback"}, args(1)...)...)
		afterBar := func(s string) string { return s[strings.LastIndexByte(s, '\r')+1:] }
		if v == 1 && (code != r.code || afterBar(stdout) != afterBar(r.stdout) || stderr != r.stderr) {
			t.Errorf("v1: exit %d stdout %q stderr %q; cache_writeback: %d %q %q", code, afterBar(stdout), stderr, r.code, afterBar(r.stdout), r.stderr)
		}
		o1, _ := os.ReadFile(origins[0])
		o2, _ := os.ReadFile(origins[1])
		if v == 1 && !bytes.Equal(o1, o2) {
			t.Errorf("v1: the origins differ after writeback")
		}
		if v == 2 && !bytes.Equal(o1, originData) {
			t.Errorf("v2: cache_writeback 0.9.0 was expected to copy nothing")
		}
		code, _, stderr = cacheSuite.runT(t, "writeback", "--metadata-device", metas[1], "--origin-device", origins[1], "--fast-device", fast)
		if code != 0 {
			t.Fatalf("v%d: writeback with update: %s", v, stderr)
		}
		if r := runThinToolBinary(t, "cache_check", []string{metas[1]}); r.code != 0 {
			t.Fatalf("v%d: cache_check after our update: %+v", v, r)
		}
		dump := cacheDumpOf(t, metas[1])
		if strings.Contains(dump, `dirty="true"`) || strings.Count(dump, "<mapping ") != 20 {
			t.Errorf("v%d: after writeback:\n%s", v, dump)
		}
		fastData, _ := os.ReadFile(fast)
		o2, _ = os.ReadFile(origins[1])
		checked := 0
		for _, line := range strings.Split(cacheXML(64, 20, 9), "\n") {
			var cb, ob int
			var dirty string
			if n, _ := fmt.Sscanf(strings.TrimSpace(line), `<mapping cache_block="%d" origin_block="%d" dirty=%q/>`, &cb, &ob, &dirty); n != 3 {
				continue
			}
			want := originData[ob<<16 : (ob+1)<<16]
			if dirty == "true" {
				want = fastData[cb<<16 : (cb+1)<<16]
			}
			if !bytes.Equal(o2[ob<<16:(ob+1)<<16], want) {
				t.Errorf("v%d: origin block %d (cache block %d, dirty %s) is not what writeback should leave", v, ob, cb, dirty)
			}
			checked++
		}
		if checked != 20 {
			t.Fatalf("v%d: %d mappings checked, want 20", v, checked)
		}
	}
}

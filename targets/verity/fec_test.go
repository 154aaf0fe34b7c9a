package verity_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// fecImage is a data file, its tree and its FEC parity as `veritysetup
// format --fec-device` made them.
type fecImage struct {
	tree
	fec                  string
	roots                int
	dataBlocks           int
	hashStart, fecStart  int // in 4096-byte blocks
	fecBlocks, rounds    int
	lenSectors           uint64
	original             []byte // the data file as formatted
	originalHash         []byte // the hash file as formatted (nil when the same file)
	formatArgs, fecTable []string
}

// formatFEC formats dataBlocks random 4096-byte blocks with FEC of roots
// parity bytes: data, tree and parity in three files, or all in the data
// file (the tree after the data, the parity after the tree).
func formatFEC(t testing.TB, g *dmtest.Rig, dataBlocks, roots int, sameFile bool) fecImage {
	t.Helper()
	im := fecImage{roots: roots, dataBlocks: dataBlocks, lenSectors: uint64(dataBlocks) * 8}
	data := g.File("data", int64(dataBlocks)*4096, true)
	hash, fec := g.Path("hash"), g.Path("fec")
	args := []string{"--fec-roots", fmt.Sprint(roots)}
	if sameFile {
		// room for the tree (a sha256 tree of 4096-byte blocks takes
		// under 1/120 of the data) then the parity
		im.hashStart = dataBlocks
		im.fecStart = dataBlocks + dataBlocks/100 + 2
		hash, fec = data, data
		if err := os.Truncate(data, int64(im.fecStart)*4096); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--data-blocks", fmt.Sprint(dataBlocks), "--hash-offset", fmt.Sprint(im.hashStart*4096), "--fec-offset", fmt.Sprint(im.fecStart*4096))
	}
	im.formatArgs = args
	im.tree = format(t, data, hash, append([]string{"--fec-device", fec}, args...)...)
	im.fec = fec
	if sameFile {
		im.fecBlocks = im.fecStart // veritysetup: up to the parity
	} else {
		st, err := os.Stat(hash)
		if err != nil {
			t.Fatal(err)
		}
		im.fecBlocks = dataBlocks + int(st.Size()/4096) // veritysetup: the whole hash file
		im.originalHash, _ = os.ReadFile(hash)
	}
	im.rounds = (im.fecBlocks + 255 - roots - 1) / (255 - roots)
	raw, _ := os.ReadFile(data)
	im.original = raw[:dataBlocks*4096]
	im.fecTable = []string{"1", data, hash, "4096", "4096", fmt.Sprint(dataBlocks), fmt.Sprint(im.hashStart),
		"sha256", im.root, im.salt, "8", "use_fec_from_device", fec, "fec_roots", fmt.Sprint(roots),
		"fec_blocks", fmt.Sprint(im.fecBlocks), "fec_start", fmt.Sprint(im.fecStart)}
	return im
}

// restore writes the data (and hash) files back as formatted.
func (im fecImage) restore(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(im.data, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(im.original, 0); err != nil {
		t.Fatal(err)
	}
	if im.originalHash != nil {
		if err := os.WriteFile(im.hash, im.originalHash, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// rsb is the first codeword of block n's (verity_fec_decode's rsb, the
// number its log lines give).
func (im fecImage) rsb(n int) int { return n * 4096 % (im.rounds * 4096) }

// corruptBytes flips count bytes at the same offsets (chosen by seed) in
// each of the blocks of path (4096-byte block numbers).
func corruptBytes(t testing.TB, path string, blocks []int, count int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0))
	offs := rng.Perm(4096)[:count]
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	for _, n := range blocks {
		for _, off := range offs {
			at := int64(n)*4096 + int64(off)
			f.ReadAt(b, at)
			b[0] ^= byte(1 + rng.UintN(255))
			if _, err := f.WriteAt(b, at); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// veritysetupRepairable is what `veritysetup verify --fec-device` finds
// repairable ("Found N repairable errors with FEC device."), -1 when it
// finds none to report.
func veritysetupRepairable(t *testing.T, im fecImage) int {
	t.Helper()
	args := append([]string{"verify", "--no-superblock", im.data, im.hash, im.root, "--fec-device", im.fec, "-v"}, im.formatArgs...)
	if im.salt != "-" {
		args = append(args, "--salt", im.salt)
	}
	out, _ := exec.Command("veritysetup", args...).CombinedOutput()
	m := regexp.MustCompile(`Found (\d+) repairable errors with FEC device`).FindSubmatch(out)
	if m == nil {
		return -1
	}
	var n int
	fmt.Sscan(string(m[1]), &n)
	return n
}

// readAll reads the whole verity device v of im.
func readAll(t *testing.T, g *dmtest.Rig, im fecImage) ([]byte, error) {
	t.Helper()
	got := make([]byte, len(im.original))
	_, err := g.Device("v").ReadAt(got, 0)
	return got, err
}

// TestFECCorrectsData: over trees and parity veritysetup made (2, 3, 8
// and 24 roots), a data block with bytes changed anywhere reads back as
// formatted (one error per codeword), logged with the kernel's line and
// as many errors as veritysetup verify finds repairable, the status
// staying V; the same bytes changed in as many blocks of one codeword set
// as there are roots are corrected by the second pass, which takes the
// blocks failing their digest as erasures; one block more fails with EIO
// as without FEC.
func TestFECCorrectsData(t *testing.T) {
	needVeritysetup(t)
	for _, roots := range []int{2, 3, 8, 24} {
		t.Run(fmt.Sprintf("roots-%d", roots), func(t *testing.T) {
			g := dmtest.New(t)
			im := formatFEC(t, g, 1500, roots, false)
			mustCreateRO(t, g, "v", im.lenSectors, im.fecTable...)
			if got, err := readAll(t, g, im); err != nil || !bytes.Equal(got, im.original) {
				t.Fatalf("clean read: %v, same %v", err, bytes.Equal(got, im.original))
			}

			const block, count = 700, 300
			corruptBytes(t, im.data, []int{block}, count, 1)
			g.Reopen()
			g.Klog.Reset()
			if got, err := readAll(t, g, im); err != nil || !bytes.Equal(got, im.original) {
				t.Fatalf("read of a corrected block: %v, same %v\n%s", err, bytes.Equal(got, im.original), g.Klog.String())
			}
			want := fmt.Sprintf("device-mapper: verity-fec: %s: FEC %d: corrected %d errors\n", im.data, im.rsb(block), count)
			if g.Klog.String() != want {
				t.Errorf("log:\n%s\nwant:\n%s", g.Klog.String(), want)
			}
			if n := veritysetupRepairable(t, im); n != count {
				t.Errorf("veritysetup verify finds %d repairable errors, gdmsetup corrected %d", n, count)
			}
			if s := g.Line("v", true); s != "V" {
				t.Errorf("status %q after a correction, want V", s)
			}
			im.restore(t)

			// roots blocks of one codeword set, the same 20 bytes in each:
			// beyond what the first pass corrects, not the second
			var set []int
			for i := 0; i <= roots; i++ {
				set = append(set, block+i*im.rounds)
			}
			corruptBytes(t, im.data, set[:roots], 20, 2)
			g.Reopen()
			g.Klog.Reset()
			buf := make([]byte, 4096)
			for _, n := range set[:roots] {
				if _, err := g.Device("v").ReadAt(buf, int64(n)*4096); err != nil || !bytes.Equal(buf, im.original[n*4096:(n+1)*4096]) {
					t.Fatalf("block %d, one of %d corrupted in a codeword set: %v\n%s", n, roots, err, g.Klog.String())
				}
			}
			want = fmt.Sprintf("device-mapper: verity-fec: %s: FEC %d: corrected %d errors\n", im.data, im.rsb(block), 20*roots)
			if !strings.HasSuffix(g.Klog.String(), want) {
				t.Errorf("log:\n%s\nwant it to end with:\n%s", g.Klog.String(), want)
			}

			corruptBytes(t, im.data, set[roots:], 20, 2)
			g.Reopen()
			g.Klog.Reset()
			if _, err := g.Device("v").ReadAt(buf, int64(block)*4096); !errors.Is(err, syscall.EIO) {
				t.Fatalf("block %d, one of %d corrupted in a codeword set: %v, want EIO", block, roots+1, err)
			}
			if want := fmt.Sprintf("device-mapper: verity: %s: data block %d is corrupted\n", im.data, block); !strings.HasSuffix(g.Klog.String(), want) {
				t.Errorf("log:\n%s\nwant it to end with:\n%s", g.Klog.String(), want)
			}
			if s := g.Line("v", true); s != "C" {
				t.Errorf("status %q after an uncorrectable block, want C", s)
			}
		})
	}
}

// TestFECCorrectsHashBlocks: changed bytes in a level-0 hash block and in
// the top one are corrected (verity_verify_level's FEC), and every data
// block reads back as formatted.
func TestFECCorrectsHashBlocks(t *testing.T) {
	needVeritysetup(t)
	g := dmtest.New(t)
	im := formatFEC(t, g, 1500, 4, false)
	mustCreateRO(t, g, "v", im.lenSectors, im.fecTable...)
	// sha256 in 4096-byte blocks: 128 digests a block; 12 level-0 blocks
	// after the top one
	corruptBytes(t, im.hash, []int{0, 5}, 40, 3)
	g.Reopen()
	if got, err := readAll(t, g, im); err != nil || !bytes.Equal(got, im.original) {
		t.Fatalf("read under corrected hash blocks: %v, same %v\n%s", err, bytes.Equal(got, im.original), g.Klog.String())
	}
	for _, hb := range []int{0, 5} {
		want := fmt.Sprintf("device-mapper: verity-fec: %s: FEC %d: corrected 40 errors\n", im.data, im.rsb(im.dataBlocks+hb))
		if !strings.Contains(g.Klog.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, g.Klog.String())
		}
	}
}

// TestFECSameFile: data, tree and parity in one file (veritysetup's
// --hash-offset and --fec-offset): fec_start places the parity, and the
// parity covers the data and the tree.
func TestFECSameFile(t *testing.T) {
	needVeritysetup(t)
	g := dmtest.New(t)
	im := formatFEC(t, g, 600, 2, true)
	mustCreateRO(t, g, "v", im.lenSectors, im.fecTable...)
	corruptBytes(t, im.data, []int{4, 599, im.hashStart}, 100, 4)
	g.Reopen()
	if got, err := readAll(t, g, im); err != nil || !bytes.Equal(got, im.original) {
		t.Fatalf("read: %v, same %v\n%s", err, bytes.Equal(got, im.original), g.Klog.String())
	}
	if n := strings.Count(g.Klog.String(), "corrected 100 errors"); n != 3 {
		t.Errorf("%d blocks corrected, want 3:\n%s", n, g.Klog.String())
	}
}

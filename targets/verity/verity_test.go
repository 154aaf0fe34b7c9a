package verity_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	_ "github.com/gdmsetup/gdmsetup/targets/all"
	"github.com/gdmsetup/gdmsetup/targets/verity"
)

// needVeritysetup skips the test without veritysetup, or fails it when CI=true.
func needVeritysetup(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("veritysetup"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("veritysetup not installed")
		}
		t.Skip("veritysetup not installed")
	}
}

// tree is a hash tree veritysetup made.
type tree struct {
	data, hash string // file paths
	root, salt string // hex; salt "-" for none
}

// format runs `veritysetup format DATA HASH --no-superblock ARGS...` and
// returns the root digest and the salt it printed.
func format(t testing.TB, data, hash string, args ...string) tree {
	t.Helper()
	out, err := exec.Command("veritysetup", append([]string{"format", data, hash, "--no-superblock"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("veritysetup format %v: %v\n%s", args, err, out)
	}
	root := regexp.MustCompile(`(?m)^Root hash:\s*([0-9a-f]+)$`).FindSubmatch(out)
	salt := regexp.MustCompile(`(?m)^Salt:\s*(\S*)$`).FindSubmatch(out)
	if root == nil || salt == nil {
		t.Fatalf("no root hash and salt in:\n%s", out)
	}
	tr := tree{data: data, hash: hash, root: string(root[1]), salt: string(salt[1])}
	if tr.salt == "" {
		tr.salt = "-"
	}
	return tr
}

// createRO makes a read-only device of one verity line, as `dmsetup create
// --readonly` does.
func createRO(g *dmtest.Rig, name string, lenSectors uint64, args ...string) error {
	verity.ResetRateLimits()
	return g.Reg.Create(name, "", []dm.TargetLine{{Len: lenSectors, Type: "verity", Args: args}}, true)
}

func mustCreateRO(t *testing.T, g *dmtest.Rig, name string, lenSectors uint64, args ...string) *dm.Device {
	t.Helper()
	if err := createRO(g, name, lenSectors, args...); err != nil {
		t.Fatalf("create %s %v: %v\n%s", name, args, err, g.Klog.String())
	}
	return g.Device(name)
}

// flip changes one byte of file path at offBytes.
func flip(t *testing.T, path string, offBytes int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	f.ReadAt(b, offBytes)
	b[0] ^= 0x5a
	if _, err := f.WriteAt(b, offBytes); err != nil {
		t.Fatal(err)
	}
}

// TestVeritysetupTrees reads back data through trees veritysetup made, of
// both format versions, with and without salt, with sha1, sha256, sha384,
// sha512, sha3-256 and md5, data and hash blocks of 512 to 4096 bytes, the
// tree after the data in the same file; then a flipped byte in a data
// block and in a hash block each fail their read with EIO, log the
// kernel's line and turn the status to C, in a later process too.
func TestVeritysetupTrees(t *testing.T) {
	needVeritysetup(t)
	for _, c := range []struct {
		name                 string
		dataBlock, hashBlock int
		blocks               int
		alg, version, salt   string
		sameFile             bool
	}{
		{"v1-sha256-4096", 4096, 4096, 300, "sha256", "1", "", false},
		{"v1-nosalt", 4096, 4096, 300, "sha256", "1", "-", false},
		{"v0-sha1-salt", 4096, 4096, 300, "sha1", "0", "00112233445566778899", false},
		{"v0-nosalt-512", 512, 512, 3000, "sha256", "0", "-", false},
		{"v1-512-data-4096-hash", 512, 4096, 3000, "sha256", "1", "", false},
		{"v1-1024-sha512", 1024, 1024, 2000, "sha512", "1", "", false},
		{"v1-md5-2048-hash", 4096, 2048, 300, "md5", "1", "", false},
		{"v1-sha3-256", 4096, 4096, 300, "sha3-256", "1", "", false},
		{"v0-sha384-2048", 2048, 2048, 600, "sha384", "0", "", false},
		{"v1-same-file", 4096, 4096, 300, "sha256", "1", "", true},
		{"v1-one-block", 4096, 4096, 1, "sha256", "1", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := dmtest.New(t)
			dataBytes := int64(c.blocks * c.dataBlock)
			data := g.File("data", dataBytes, true)
			hash, hashStart := g.Path("hash"), 0
			args := []string{"--format", c.version, "--hash", c.alg, "--data-block-size", fmt.Sprint(c.dataBlock),
				"--hash-block-size", fmt.Sprint(c.hashBlock), "--data-blocks", fmt.Sprint(c.blocks)}
			if c.salt != "" {
				args = append(args, "--salt", c.salt)
			}
			if c.sameFile {
				hash, hashStart = data, int(dataBytes)/c.hashBlock
				args = append(args, "--hash-offset", fmt.Sprint(dataBytes))
			}
			tr := format(t, data, hash, args...)
			if c.salt == "-" && tr.salt != "-" {
				t.Fatalf("veritysetup made salt %s", tr.salt)
			}
			table := []string{c.version, data, hash, fmt.Sprint(c.dataBlock), fmt.Sprint(c.hashBlock),
				fmt.Sprint(c.blocks), fmt.Sprint(hashStart), c.alg, tr.root, tr.salt}
			lenSectors := uint64(dataBytes / 512)
			d := mustCreateRO(t, g, "v", lenSectors, table...)
			got := make([]byte, dataBytes)
			if _, err := d.ReadAt(got, 0); err != nil {
				t.Fatal(err)
			}
			want, _ := os.ReadFile(data)
			if !bytes.Equal(got, want[:dataBytes]) {
				t.Fatal("data read back differs")
			}
			if s := g.Line("v", true); s != "V" {
				t.Fatalf("status %q, want V", s)
			}

			// a flipped byte in the last data block
			last := int64(c.blocks-1) * int64(c.dataBlock)
			flip(t, data, last+7)
			g.Reopen()
			buf := make([]byte, c.dataBlock)
			if _, err := g.Device("v").ReadAt(buf, last); !errors.Is(err, syscall.EIO) {
				t.Fatalf("read of the corrupted block: %v, want EIO", err)
			}
			wantLog := fmt.Sprintf("device-mapper: verity: %s: data block %d is corrupted", data, c.blocks-1)
			if !strings.Contains(g.Klog.String(), wantLog) {
				t.Errorf("log lacks %q:\n%s", wantLog, g.Klog.String())
			}
			if c.blocks > 1 {
				if _, err := g.Device("v").ReadAt(buf, 0); err != nil {
					t.Fatalf("read of block 0: %v", err)
				}
			}
			g.Reopen()
			if s := g.Line("v", true); s != "C" {
				t.Fatalf("status after the corruption, in a later process: %q, want C", s)
			}
			flip(t, data, last+7)

			if c.blocks == 1 {
				return
			}
			// a flipped byte in the first hash block (the top level): every read fails
			flip(t, hash, int64(hashStart*c.hashBlock)+3)
			g.Reopen()
			if _, err := g.Device("v").ReadAt(buf, 0); !errors.Is(err, syscall.EIO) {
				t.Fatalf("read under a corrupted hash block: %v, want EIO", err)
			}
			wantLog = fmt.Sprintf("device-mapper: verity: %s: metadata block %d is corrupted", data, hashStart)
			if !strings.Contains(g.Klog.String(), wantLog) {
				t.Errorf("log lacks %q:\n%s", wantLog, g.Klog.String())
			}
			if err := g.Reg.Remove("v"); err != nil {
				t.Fatal(err)
			}
			// ignore_corruption lets it through
			d = mustCreateRO(t, g, "v", lenSectors, append(table, "1", "ignore_corruption")...)
			if _, err := d.ReadAt(got, 0); err != nil {
				t.Fatalf("read with ignore_corruption: %v", err)
			}
			if !bytes.Equal(got, want[:dataBytes]) {
				t.Fatal("data read back with ignore_corruption differs")
			}
			if s := g.Line("v", true); s != "C" {
				t.Fatalf("status %q, want C", s)
			}
		})
	}
}

// TestVeritysetupSuperblock opens a tree with veritysetup's superblock
// (in the hash device's first block: the tree starts at block 1).
func TestVeritysetupSuperblock(t *testing.T) {
	needVeritysetup(t)
	g := dmtest.New(t)
	data := g.File("data", 1<<20, true)
	hash := g.Path("hash")
	out, err := exec.Command("veritysetup", "format", data, hash).CombinedOutput()
	if err != nil {
		t.Fatalf("veritysetup format: %v\n%s", err, out)
	}
	root := regexp.MustCompile(`(?m)^Root hash:\s*([0-9a-f]+)$`).FindSubmatch(out)
	salt := regexp.MustCompile(`(?m)^Salt:\s*([0-9a-f]+)$`).FindSubmatch(out)
	d := mustCreateRO(t, g, "v", 2048, "1", data, hash, "4096", "4096", "256", "1", "sha256", string(root[1]), string(salt[1]))
	got := make([]byte, 1<<20)
	if _, err := d.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if want, _ := os.ReadFile(data); !bytes.Equal(got, want) {
		t.Fatal("data read back differs")
	}
}

// TestCheckAtMostOnce: a block verified once is not checked again, in a
// later process too (its bit is saved), so a later change to it is read;
// a block never read is still checked.
func TestCheckAtMostOnce(t *testing.T) {
	needVeritysetup(t)
	g := dmtest.New(t)
	data := g.File("data", 64<<10, true)
	tr := format(t, data, g.Path("hash"))
	mustCreateRO(t, g, "v", 128, "1", data, tr.hash, "4096", "4096", "16", "0", "sha256", tr.root, tr.salt, "1", "check_at_most_once")
	buf := make([]byte, 8192)
	if _, err := g.Device("v").ReadAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	g.Reopen()
	flip(t, data, 100)
	flip(t, data, 3*4096)
	if _, err := g.Device("v").ReadAt(buf[:4096], 0); err != nil {
		t.Fatalf("a block verified before: %v", err)
	}
	if raw, _ := os.ReadFile(data); !bytes.Equal(buf[:4096], raw[:4096]) {
		t.Fatal("the block read is not the device's changed one")
	}
	if _, err := g.Device("v").ReadAt(buf[:4096], 3*4096); !errors.Is(err, syscall.EIO) {
		t.Fatalf("a block never read: %v, want EIO", err)
	}
}

// TestIgnoreZeroBlocks: a block whose digest is that of zeros reads as
// zeros whatever the data device holds there.
func TestIgnoreZeroBlocks(t *testing.T) {
	needVeritysetup(t)
	g := dmtest.New(t)
	data := g.File("data", 64<<10, false)
	os.WriteFile(data, append(dmtest.Random(4096), make([]byte, 60<<10)...), 0o600)
	tr := format(t, data, g.Path("hash"))
	table := []string{"1", data, tr.hash, "4096", "4096", "16", "0", "sha256", tr.root, tr.salt}
	flip(t, data, 5*4096+1)
	mustCreateRO(t, g, "z", 128, append(table, "1", "ignore_zero_blocks")...)
	buf := dmtest.Random(4096)
	if _, err := g.Device("z").ReadAt(buf, 5*4096); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf, make([]byte, 4096)) {
		t.Fatal("a zero block does not read as zeros")
	}
	mustCreateRO(t, g, "n", 128, table...)
	if _, err := g.Device("n").ReadAt(buf, 5*4096); !errors.Is(err, syscall.EIO) {
		t.Fatalf("without ignore_zero_blocks: %v, want EIO", err)
	}
	if got := g.Line("z", false); !strings.HasSuffix(got, " 1 ignore_zero_blocks") {
		t.Errorf("table %q", got)
	}
}

// TestReadOnly: a table that is not read-only is refused, writes to the
// device fail; a read not aligned to the data block size (the device's
// logical block size) reads the whole block, which is verified.
func TestReadOnly(t *testing.T) {
	g := dmtest.New(t)
	data := g.File("data", 64<<10, false)
	hash := g.File("hash", 64<<10, false)
	root := strings.Repeat("00", 32)
	args := []string{"1", data, hash, "4096", "4096", "16", "0", "sha256", root, "-"}
	if err := g.Create("v", 128, "verity", args...); !errors.Is(err, syscall.EINVAL) ||
		!strings.Contains(g.Klog.String(), "verity: Device must be readonly (-EINVAL)") {
		t.Fatalf("a read-write table: %v\n%s", err, g.Klog.String())
	}
	d := mustCreateRO(t, g, "v", 128, args...)
	if _, err := d.WriteAt(make([]byte, 4096), 0); err == nil {
		t.Fatal("a write succeeded")
	}
	if got := d.LogicalBlockBytes(); got != 4096 {
		t.Fatalf("logical block size %d, want 4096", got)
	}
	if _, err := d.ReadAt(make([]byte, 512), 512); !errors.Is(err, syscall.EIO) ||
		!strings.Contains(g.Klog.String(), "device-mapper: verity: "+data+": metadata block 0 is corrupted") {
		t.Fatalf("an unaligned read of a block whose hash does not match: %v\n%s", err, g.Klog.String())
	}
}

// TestRestartAndPanicModes: restart_on_corruption and panic_on_corruption
// fail the read after the line the kernel prints as it restarts or panics;
// a user-space device-mapper does not take the machine down.
func TestRestartAndPanicModes(t *testing.T) {
	needVeritysetup(t)
	for mode, line := range map[string]string{
		"restart_on_corruption": "reboot: Restarting system with command 'dm-verity device corrupted'",
		"panic_on_corruption":   "Kernel panic - not syncing: dm-verity device corrupted",
	} {
		t.Run(mode, func(t *testing.T) {
			g := dmtest.New(t)
			data := g.File("data", 64<<10, true)
			tr := format(t, data, g.Path("hash"))
			flip(t, data, 4096)
			d := mustCreateRO(t, g, "v", 128, "1", data, tr.hash, "4096", "4096", "16", "0", "sha256", tr.root, tr.salt, "1", mode)
			if _, err := d.ReadAt(make([]byte, 8192), 0); !errors.Is(err, syscall.EIO) {
				t.Fatalf("read: %v, want EIO", err)
			}
			log := g.Klog.String()
			if !strings.Contains(log, "data block 1 is corrupted\n"+line+"\n") {
				t.Errorf("log:\n%s\nwant the corrupted block's line, then %q", log, line)
			}
			if s := g.Line("v", true); s != "C" {
				t.Errorf("status %q, want C", s)
			}
		})
	}
}

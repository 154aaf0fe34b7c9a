package thin_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// TestBigPoolMetadataBytesAreTheKernels replays the fidelity scenario
// thin-bigpool-bytes (testdata/fidelity) in one process and compares the
// metadata device with the sha256 Linux 6.1 left after each section (its
// transcript in testdata/fidelity/expected): a pool of 101 data space map
// bitmaps, a write, the pool grown to 201 bitmaps, a write. Past 64
// bitmaps the kernel's cache of index entries writes entries into the index
// tree while it allocates bitmaps (a dirty entry displaced from its slot),
// and the commit writes the rest in slot order.
func TestBigPoolMetadataBytesAreTheKernels(t *testing.T) {
	dir := t.TempDir()
	meta, data := filepath.Join(dir, "meta.img"), filepath.Join(dir, "data.img")
	dmtest.Sparse(t, meta, 8<<20)
	dmtest.Sparse(t, data, 200<<30)
	reg, err := dm.Open(filepath.Join(dir, "state"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	pool := func(lenSectors uint64) []dm.TargetLine {
		return []dm.TargetLine{{Start: 0, Len: lenSectors, Type: "thin-pool", Args: []string{meta, data, "128", "16"}}}
	}
	check := func(what, want string) {
		t.Helper()
		if _, err := reg.Lines("pool", false, true); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(meta)
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != want {
			t.Fatalf("%s: metadata sha256 %x, the kernel's %s", what, sum, want)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(reg.Create("pool", "", pool(100<<21), false))
	check("101 bitmaps", "05a9de3d65e19bc3fa4d4350ef287eb9a0b37e77e8a058913dc1c6185a74eade")
	_, err = reg.Message("pool", 0, []string{"create_thin", "0"})
	must(err)
	must(reg.Create("t0", "", []dm.TargetLine{{Start: 0, Len: 1 << 21, Type: "thin", Args: []string{"/dev/mapper/pool", "0"}}}, false))
	d, _ := reg.Lookup("t0")
	must(d.Prepare())
	_, err = d.WriteAt(make([]byte, blockBytes), 0)
	must(err)
	check("a write", "ddfd139b08a039f2b2d3fc4a8e83551a4a14cfec4425bfaac373e369ac35e300")
	must(reg.Load("pool", pool(200<<21)))
	must(reg.Suspend("pool"))
	must(reg.Resume("pool"))
	check("grown to 201 bitmaps", "afbfa76cf3f252594255ec4755fd0deb7efcc43a13e62344a30263eb8aafdaa3")
	_, err = d.WriteAt(make([]byte, blockBytes), blockBytes)
	must(err)
	check("a write after the growth", "b34dc657b2e6aa10d70662ab7e86435390185cd4c8a728801c0bace8c33afe64")
}

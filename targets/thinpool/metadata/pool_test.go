package metadata

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/pdata/block"
)

// newMetaFile creates a zero-filled metadata file of nrBlocks blocks.
func newMetaFile(t testing.TB, nrBlocks uint64) (*block.FileDevice, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "meta")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, int64(nrBlocks)*BlockSize); err != nil {
		t.Fatal(err)
	}
	f, err := block.OpenFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, path
}

// thinCheck runs the real thin_check and fails the test on a non-zero exit.
func thinCheck(t testing.TB, path string) {
	t.Helper()
	out, err := exec.Command(dmtest.Peer(t, "thin_check"), path).CombinedOutput()
	if err != nil {
		t.Fatalf("thin_check %s: %v\n%s", path, err, out)
	}
}

// thinDump runs the real thin_dump.
func thinDump(t testing.TB, path string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(dmtest.Peer(t, "thin_dump"), append(args, path)...).Output()
	if err != nil {
		t.Fatalf("thin_dump %s: %v", path, err)
	}
	return out
}

// commitAndCompare commits p, then has the real thin_check pass the
// metadata at path and thin_dump print what our dump prints.
func commitAndCompare(t testing.TB, p *Pool, path string) {
	t.Helper()
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	thinCheck(t, path)
	if got, want := ourDump(t, p), thinDump(t, path); !bytes.Equal(got, want) {
		t.Fatalf("dump differs:\n%s\nthin_dump:\n%s", got, want)
	}
}

func ourDump(t testing.TB, p *Pool) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := p.Dump(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestFormatSmall(t *testing.T) {
	f, path := newMetaFile(t, 1024)
	p, err := Format(f, 1024, 128, 1000, Options{})
	if err != nil {
		t.Fatal(err)
	}
	thinCheck(t, path)
	if err := p.CreateThin(1); err != nil {
		t.Fatal(err)
	}
	th, _ := p.OpenThin(1)
	for i := uint64(0); i < 600; i++ {
		b, err := p.AllocDataBlock()
		if err != nil {
			t.Fatal(err)
		}
		if err := th.InsertBlock(i*3, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.CreateSnap(2, 1); err != nil {
		t.Fatal(err)
	}
	b, _ := p.AllocDataBlock()
	if err := th.InsertBlock(7, b); err != nil {
		t.Fatal(err)
	}
	if err := th.RemoveRange(100, 400); err != nil {
		t.Fatal(err)
	}
	commitAndCompare(t, p, path)
}

package lvm

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// fixture unpacks testdata/lvm/NAME.img.gz (an image lvm2 wrote in the kernel oracle: pv1, pv2,
// mbr, gpt) into t's temporary directory and returns the image's path.
func fixture(t testing.TB, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".img")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, openFixture(t, name)); err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// pvHead returns the first MiB of fixture name: for pv1 and pv2, the label and the metadata
// area.
func pvHead(t testing.TB, name string) []byte {
	t.Helper()
	head := make([]byte, 1<<20)
	if _, err := io.ReadFull(openFixture(t, name), head); err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return head
}

// openFixture returns the uncompressed stream of fixture name, closed at t's end.
func openFixture(t testing.TB, name string) io.Reader {
	t.Helper()
	in, err := os.Open(filepath.Join("..", "testdata", "lvm", name+".img.gz"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	zr, err := gzip.NewReader(in)
	if err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return zr
}

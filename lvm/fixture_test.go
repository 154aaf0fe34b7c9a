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
	in, err := os.Open(filepath.Join("..", "testdata", "lvm", name+".img.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	path := filepath.Join(t.TempDir(), name+".img")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

package dmtest

import (
	"compress/gzip"
	"io"
	"os"
	"testing"
)

// FileBytes returns n bytes of the file at path from offBytes, failing the
// test when they cannot be read.
func FileBytes(t testing.TB, path string, offBytes int64, n int) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, offBytes); err != nil {
		t.Fatalf("%s: %d bytes at byte %d: %v", path, n, offBytes, err)
	}
	return b
}

// Gunzip writes the gzip file at src (a testdata image), uncompressed, to
// dst and returns dst.
func Gunzip(t testing.TB, src, dst string) string {
	t.Helper()
	if err := os.WriteFile(dst, GunzipBytes(t, src), 0o600); err != nil {
		t.Fatal(err)
	}
	return dst
}

// GunzipBytes returns the gzip file at src (a testdata image) uncompressed.
func GunzipBytes(t testing.TB, src string) []byte {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	raw, err := io.ReadAll(z)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return raw
}

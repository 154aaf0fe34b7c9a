package dmtest

import (
	"bytes"
	"testing"

	"github.com/gdmsetup/gdmsetup/targets"
)

// ReadAt reads n bytes at sector through tg, failing the test on an error.
func ReadAt(t testing.TB, tg targets.Target, sector uint64, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if err := tg.ReadAt(b, sector); err != nil {
		t.Fatalf("read %d bytes at sector %d: %v", n, sector, err)
	}
	return b
}

// WriteAt writes b at sector through tg, failing the test on an error.
func WriteAt(t testing.TB, tg targets.Target, sector uint64, b []byte) {
	t.Helper()
	if err := tg.WriteAt(b, sector); err != nil {
		t.Fatalf("write %d bytes at sector %d: %v", len(b), sector, err)
	}
}

// MustEqual fails the test when got, what the test read as what, is not
// want.
func MustEqual(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: the bytes differ", what)
	}
}

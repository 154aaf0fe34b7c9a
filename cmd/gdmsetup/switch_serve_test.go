package main

import (
	"bytes"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"os"
	"path/filepath"
	"testing"
)

// TestServeSwitchRemappedUnderAClient: qemu-io, connected over NBD to a
// switch device of two 512 KiB regions, writes across the region boundary
// (each half lands on its region's path); a set_region_mappings message
// sent while it stays connected swaps the regions, and its next reads and
// writes follow the new table.
func TestServeSwitchRemappedUnderAClient(t *testing.T) {
	dmtest.Peer(t, "qemu-io")
	s := newSandbox(t)
	a, b := s.file("a.img", 1<<20), s.file("b.img", 1<<20)
	s.ok("", "create", "sw", "--table", "0 2048 switch 2 1024 0 a.img 0 b.img 0")
	srv := s.serve()
	q := startQemuIO(t, srv.url("sw"))
	q.mustDo("write -P 0xaa 0 1M", "wrote 1048576/1048576")
	half := bytes.Repeat([]byte{0xaa}, 512<<10)
	zeros := make([]byte, 512<<10)
	checkFile := func(path string, first, second []byte) {
		t.Helper()
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[:512<<10], first) || !bytes.Equal(got[512<<10:], second) {
			t.Fatalf("%s does not hold what its regions were sent", filepath.Base(path))
		}
	}
	checkFile(a, half, zeros)
	checkFile(b, zeros, half)

	s.ok("", "message", "sw", "0", "set_region_mappings", "0:1", ":0")
	q.mustDo("read -P 0 0 512k", "read 524288/524288")
	q.mustDo("read -P 0 512k 512k", "read 524288/524288")
	q.mustDo("write -P 0xbb 0 4k", "wrote 4096/4096")
	got, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[:4096], bytes.Repeat([]byte{0xbb}, 4096)) {
		t.Fatal("a write to region 0 after the message did not land on b.img")
	}
}

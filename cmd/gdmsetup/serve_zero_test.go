package main

import (
	"bytes"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// allocatedBytes is the space a file takes on disk (st_blocks).
func allocatedBytes(t *testing.T, path string) int64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

// TestServeWriteZeroes sends NBD WRITE_ZEROES with qemu-io (write -z, with
// and without -u, unaligned, across a target boundary): the bytes read back
// are zeros exactly there. With -u (no NBD_CMD_FLAG_NO_HOLE) the linear
// device punches holes in its files, which shows the zeroing reached the
// file as fallocate rather than as written zeros, also through a linear
// device stacked on it. On a thin device, unaligned, the blocks covered
// whole are unmapped and the parts of the others zeroed
// (TestServeSparseRestoreToThin counts the blocks).
func TestServeWriteZeroes(t *testing.T) {
	dmtest.Peer(t, "qemu-io")
	s := newSandbox(t)
	a := randomFile(t, filepath.Join(s.dir, "a.img"), 4<<20)
	b := randomFile(t, filepath.Join(s.dir, "b.img"), 4<<20)
	want := append(append([]byte{}, a...), b...)
	s.ok("", "create", "lin", "--table", "0 8192 linear a.img 0\n8192 8192 linear b.img 0")
	s.ok("", "create", "top", "--table", "0 16384 linear /dev/mapper/lin 0")
	s.thinPool(16384)
	srv := s.serve()

	zero := func(off, n int) { clear(want[off : off+n]) }
	tool(t, "qemu-io", "-f", "raw", "-c", "write -z 1000 300k", "-c", "flush", srv.url("lin"))
	zero(1000, 300<<10)
	allocated := func() int64 {
		return allocatedBytes(t, filepath.Join(s.dir, "a.img")) + allocatedBytes(t, filepath.Join(s.dir, "b.img"))
	}
	before := allocated()
	tool(t, "qemu-io", "-f", "raw", "-c", "write -z -u 3M 2M", "-c", "flush", srv.url("lin"))
	zero(3<<20, 2<<20)
	if freed := before - allocated(); freed < 1<<20 {
		t.Errorf("write -z -u of 2 MiB over two files freed %d bytes: not punched through", freed)
	}
	before = allocated()
	tool(t, "qemu-io", "-f", "raw", "-c", "write -z -u 6M 1M", "-c", "flush", srv.url("top"))
	zero(6<<20, 1<<20)
	if freed := before - allocated(); freed < 512<<10 {
		t.Errorf("write -z -u of 1 MiB through a stacked linear freed %d bytes: not punched through", freed)
	}
	if got := []byte(s.ok("", "read", "lin")); !bytes.Equal(got, want) {
		t.Fatalf("linear device after write zeroes: %d bytes differ", countDiff(got, want))
	}

	thin := bytes.Repeat([]byte{0x5c}, 8<<20)
	tool(t, "qemu-io", "-f", "raw", "-c", "write -P 0x5c 0 8M", "-c", "write -z -u 4095 1M", "-c", "flush", srv.url("thin"))
	clear(thin[4095 : 4095+1<<20])
	if got := []byte(s.ok("", "read", "thin")); !bytes.Equal(got, thin) {
		t.Fatalf("thin device after write zeroes: %d bytes differ", countDiff(got, thin))
	}
	if code := srv.stop(); code != 0 {
		t.Fatalf("SIGTERM: exit %d\n%s", code, srv.stderr)
	}
	if strings.Contains(srv.stderr.String(), "command 6") {
		t.Fatalf("a WRITE_ZEROES failed:\n%s", srv.stderr)
	}
}

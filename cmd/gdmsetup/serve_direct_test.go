package main

import (
	"bytes"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestServeDirect: with --direct the server opens the files under a linear
// device with O_DIRECT too (seen in /proc/PID/fdinfo); aligned and unaligned
// writes and reads through qemu-io give the right bytes.
func TestServeDirect(t *testing.T) {
	dmtest.Peer(t, "qemu-io")
	s := newSandbox(t)
	want := randomFile(t, filepath.Join(s.dir, "a.img"), 4<<20)
	s.ok("", "create", "lin", "--table", "0 8192 linear a.img 0")
	srv := s.serve("--direct")
	tool(t, "qemu-io", "-f", "raw", "-c", "write -P 0x11 64k 128k", "-c", "write -P 0x22 100 1000",
		"-c", "flush", "-c", "read -P 0x11 64k 128k", "-c", "read -P 0x22 100 1000", srv.url("lin"))
	copy(want[64<<10:192<<10], bytes.Repeat([]byte{0x11}, 128<<10))
	copy(want[100:1100], bytes.Repeat([]byte{0x22}, 1000))
	if !directOpen(t, srv.cmd.Process.Pid, filepath.Join(s.dir, "a.img")) {
		t.Errorf("serve --direct has no O_DIRECT descriptor on a.img")
	}
	if code := srv.stop(); code != 0 {
		t.Fatalf("SIGTERM: exit %d\n%s", code, srv.stderr)
	}
	got, err := os.ReadFile(filepath.Join(s.dir, "a.img"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("a.img after direct writes: %d bytes differ", countDiff(got, want))
	}
}

// directOpen reports whether process pid has path open with O_DIRECT.
func directOpen(t *testing.T, pid int, path string) bool {
	t.Helper()
	fds := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	ents, err := os.ReadDir(fds)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if target, _ := os.Readlink(filepath.Join(fds, e.Name())); target != path {
			continue
		}
		info, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "fdinfo", e.Name()))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(info), "\n") {
			if v, ok := strings.CutPrefix(line, "flags:"); ok {
				if flags, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64); err == nil && flags&syscall.O_DIRECT != 0 {
					return true
				}
			}
		}
	}
	return false
}

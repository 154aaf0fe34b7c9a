package main

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
)

// TestCloneCLI runs a clone through separate gdmsetup processes: settings
// set by messages live as long as the table (across processes and a
// suspend/resume), `wait` hydrates in the foreground and returns on the
// completion event, and a new table starts from its own arguments.
func TestCloneCLI(t *testing.T) {
	s := newSandbox(t)
	s.file("meta.img", 4<<20)
	s.file("dest.img", 8<<20)
	src := make([]byte, 8<<20)
	rand.Read(src)
	if err := os.WriteFile(filepath.Join(s.dir, "src.img"), src, 0o600); err != nil {
		t.Fatal(err)
	}
	table := "0 16384 clone meta.img dest.img src.img 8 1 no_hydration"
	s.ok("", "create", "cl", "--table", table)
	s.ok(strings.Repeat("w", 512), "write", "cl", "--offset", "4608")
	copy(src[4608:], strings.Repeat("w", 512))
	s.ok("", "message", "cl", "0", "hydration_batch_size", "16")
	s.ok("", "suspend", "cl")
	s.ok("", "resume", "cl")
	status := "0 16384 clone 8 6/1024 8 1/2048 0 1 no_hydration 4 hydration_threshold 1 hydration_batch_size 16 rw\n"
	s.expect(args("status cl"), "", status, "", 0)
	s.ok("", "message", "cl", "0", "enable_hydration")
	s.expect(args("wait cl"), "", "", "", 0)
	s.expect(args("status cl"), "", "0 16384 clone 8 6/1024 8 2048/2048 0 0 4 hydration_threshold 1 hydration_batch_size 16 rw\n", "", 0)
	s.expect(args("info cl"), "", info("cl", "ACTIVE", "LIVE", 0, 1, 0, 1, 256), "", 0)
	got := s.ok("", "read", "cl")
	if !bytes.Equal([]byte(got), src) {
		t.Fatal("clone differs from source + write")
	}
	s.ok("", "remove", "cl")
	dest, _ := os.ReadFile(filepath.Join(s.dir, "dest.img"))
	if !bytes.Equal(dest, src) {
		t.Fatal("destination differs from source + write")
	}
	s.ok("", "create", "cl", "--table", "0 16384 clone meta.img dest.img src.img 8")
	s.expect(args("status cl"), "", "0 16384 clone 8 6/1024 8 2048/2048 0 0 4 hydration_threshold 1 hydration_batch_size 1 rw\n", "", 0)
	s.expect(args("message cl 0 frobnicate 1"), "", "",
		"device-mapper: clone: 253:0: Unsupported message `frobnicate'\ndevice-mapper: message ioctl on cl  failed: Invalid argument\nCommand failed.\n", 1)
	s.ok("", "remove", "cl")
}

func TestCloneProgressLine(t *testing.T) {
	for _, tc := range []struct {
		done, total uint64
		rate        float64
		want        string
	}{
		{0, 4096, 0, "[....................] 0/4096 regions  0/s  ? left "},
		{1024, 4096, 512, "[#####...............] 1024/4096 regions  512/s  6s left "},
		{4096, 4096, 100, "[####################] 4096/4096 regions  100/s  0s left "},
	} {
		if got := progressLine(tc.done, tc.total, tc.rate); got != tc.want {
			t.Errorf("progressLine(%d, %d, %g) = %q, want %q", tc.done, tc.total, tc.rate, got, tc.want)
		}
	}
	done, total, ok := cloneRegions([]dm.Line{{Type: "linear"}, {Type: "clone", Params: "8 6/1024 8 10/20 0 0 4 hydration_threshold 1 hydration_batch_size 1 rw"}})
	if !ok || done != 10 || total != 20 {
		t.Errorf("cloneRegions: %d/%d %v", done, total, ok)
	}
}

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	src := randomFile(t, filepath.Join(s.dir, "src.img"), 8<<20)
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

// TestCloneHydrationRetry: a source region that fails to read is logged
// ("hydration failed", rate-limited) and left unhydrated while the rest
// hydrates; the copy is retried, so once the source is whole again (a
// reload of the stacked source device under the running `wait`) hydration
// completes and the clone equals the source.
func TestCloneHydrationRetry(t *testing.T) {
	s := newSandbox(t)
	s.file("meta.img", 4<<20)
	s.file("dest.img", 2<<20)
	srcPath := filepath.Join(s.dir, "src.img")
	src := randomFile(t, srcPath, 2<<20)
	s.ok("", "create", "csl", "--table", "0 640 linear "+srcPath+" 0\n640 128 error\n768 3328 linear "+srcPath+" 768")
	s.ok("", "create", "cl", "--table", "0 4096 clone meta.img dest.img /dev/mapper/csl 128 1 no_hydration")
	s.ok("", "message", "cl", "0", "enable_hydration")

	waitDone := make(chan result, 1)
	start := time.Now()
	go func() { waitDone <- s.run("", "wait", "cl") }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(s.ok("", "status", "cl"), " 31/32 ") {
		if time.Now().After(deadline) {
			t.Fatalf("hydration did not reach 31 of 32 regions: %s", s.ok("", "status", "cl"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // a few retries of the failing region
	s.ok("", "reload", "csl", "--table", "0 4096 linear "+srcPath+" 0")
	s.ok("", "suspend", "csl")
	s.ok("", "resume", "csl")
	r := <-waitDone
	if r.code != 0 {
		t.Fatalf("wait: exit %d, stderr %q", r.code, r.stderr)
	}
	// at most 10 lines per started 5 s (DMERR_LIMIT)
	limit := 10 * (int(time.Since(start)/(5*time.Second)) + 1)
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if len(lines) < 2 || len(lines) > limit {
		t.Fatalf("wait logged %d lines, want 2-%d (retries, rate-limited): %q", len(lines), limit, r.stderr)
	}
	for _, l := range lines {
		if l != "device-mapper: clone: 253:1: hydration failed" {
			t.Fatalf("unexpected log line %q", l)
		}
	}
	s.expect(args("status cl"), "", "0 4096 clone 8 6/1024 128 32/32 0 0 4 hydration_threshold 1 hydration_batch_size 1 rw\n", "", 0)
	if got := s.ok("", "read", "cl"); got != string(src) {
		t.Fatal("clone differs from the source")
	}
}

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// TestServeSnapshotBackupWhileWriting: an LVM-style stack (origin-real, a
// persistent snapshot, snapshot-origin) served over NBD. qemu-io clients
// rewrite the origin while nbdcopy copies the snapshot out: the copy is the
// origin as it was when the snapshot was made. The server then dies by
// SIGKILL: the snapshot still reads as the old data, in a CLI process and
// in a new server, and the origin keeps what its clients flushed.
func TestServeSnapshotBackupWhileWriting(t *testing.T) {
	dmtest.Peer(t, "qemu-io")
	dmtest.Peer(t, "nbdcopy")
	s := newSandbox(t)
	const sizeBytes = 16 << 20
	old := randomFile(t, filepath.Join(s.dir, "origin.img"), sizeBytes)
	s.file("cow.img", 20<<20)
	s.ok("", "create", "vol-real", "--table", "0 32768 linear origin.img 0")
	s.ok("", "create", "vol-snap", "--table", "0 32768 snapshot /dev/mapper/vol-real cow.img P 16")
	s.ok("", "create", "vol", "--table", "0 32768 snapshot-origin /dev/mapper/vol-real")
	srv := s.serve("--export", "vol", "--export", "vol-snap")

	backup := filepath.Join(s.dir, "backup.img")
	var wg sync.WaitGroup
	for i, pattern := range []string{"0x5a", "0xa5"} {
		wg.Add(1)
		go func(off int, pattern string) {
			defer wg.Done()
			// each client rewrites its own half, 64 KiB at a time, then flushes
			var cmds []string
			for o := off; o < off+sizeBytes/2; o += 64 << 10 {
				cmds = append(cmds, "-c", "write -P "+pattern+" "+itoa(o)+" 64k")
			}
			cmds = append(cmds, "-c", "flush")
			tool(t, "qemu-io", append(append([]string{"-f", "raw"}, cmds...), srv.url("vol"))...)
		}(i*sizeBytes/2, pattern)
	}
	tool(t, "nbdcopy", srv.url("vol-snap"), backup)
	wg.Wait()
	got, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if n := countDiff(got, old); n != 0 {
		t.Fatalf("the snapshot copied out while the origin was written differs from the old origin in %d bytes", n)
	}
	status := s.ok("", "status", "vol-snap")

	srv.kill()
	if got := s.ok("", "read", "vol-snap"); !bytes.Equal([]byte(got), old) {
		t.Fatal("after SIGKILL of the server the snapshot no longer reads as the old origin")
	}
	if got := s.ok("", "status", "vol-snap"); got != status {
		t.Fatalf("snapshot status %q after the kill, %q before", got, status)
	}
	want := append(bytes.Repeat([]byte{0x5a}, sizeBytes/2), bytes.Repeat([]byte{0xa5}, sizeBytes/2)...)
	if got := s.ok("", "read", "vol"); !bytes.Equal([]byte(got), want) {
		t.Fatal("after SIGKILL of the server the origin lost flushed writes")
	}
	srv = s.serve("--export", "vol-snap")
	tool(t, "nbdcopy", srv.url("vol-snap"), backup)
	if got, _ := os.ReadFile(backup); !bytes.Equal(got, old) {
		t.Fatal("a new server serves the snapshot differently")
	}
}

// TestServeResumesMerge: a snapshot merge that a CLI command started and
// left half done at its exit goes on as soon as a server owns the state
// directory, with no command naming the device: the origin's file ends up
// holding the snapshot's data.
func TestServeResumesMerge(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a merge slowed down by a delay device")
	}
	s := newSandbox(t)
	const sizeBytes = 4 << 20
	old := randomFile(t, filepath.Join(s.dir, "base.img"), sizeBytes)
	s.file("cow.img", 8<<20)
	s.ok("", "create", "lbase", "--table", "0 8192 linear base.img 0")
	s.ok("", "create", "snap", "--table", "0 8192 snapshot /dev/mapper/lbase cow.img P 8")
	s.ok("", "create", "origin", "--table", "0 8192 snapshot-origin /dev/mapper/lbase")
	s.ok(string(dmtest.Random(sizeBytes)), "write", "origin")
	// Every batch of the merge (at most one metadata area, 1 MiB) now
	// takes over 0.6 s: a write and a flush, each 300 ms late.
	s.ok("", "reload", "lbase", "--table", "0 8192 delay base.img 0 0 base.img 0 300")
	s.ok("", "resume", "lbase")
	s.ok("", "suspend", "origin")
	s.ok("", "suspend", "snap")
	s.ok("", "reload", "origin", "--table", "0 8192 snapshot-merge /dev/mapper/lbase cow.img P 8")
	s.ok("", "resume", "origin")
	if got, _ := os.ReadFile(filepath.Join(s.dir, "base.img")); bytes.Equal(got, old) {
		t.Fatal("the merge was over when the resume command ended: nothing left to test")
	}
	s.serve()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got, _ := os.ReadFile(filepath.Join(s.dir, "base.img"))
		if bytes.Equal(got, old) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not finish the merge in 30 s: %d bytes differ from the snapshot", countDiff(got, old))
		}
	}
}

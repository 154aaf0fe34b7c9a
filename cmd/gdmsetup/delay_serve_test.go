package main

import (
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestServeDelayedReadsSeenAndReleased: a real NBD client (qemu-io) with
// three reads in flight on a delay device (an hour's read delay) is seen
// waiting in `gdmsetup status`, run by the server while the reads wait, all
// three at once; `gdmsetup suspend` returns (presuspend lets them go: with
// an hour's delay it would wait otherwise) with none waiting, and the client
// gets its data (its flush at close waits for the resume, as I/O to a
// suspended device does); after the resume reads are delayed again.
func TestServeDelayedReadsSeenAndReleased(t *testing.T) {
	dmtest.Peer(t, "qemu-io")
	s := newSandbox(t)
	s.file("a.img", 1<<20)
	s.ok("", "create", "d", "--table", "0 2048 delay a.img 0 3600000 a.img 0 0")
	srv := s.serve()
	client := exec.Command("qemu-io", "-f", "raw",
		"-c", "aio_read -P 0 0 4k", "-c", "aio_read -P 0 64k 4k", "-c", "aio_read -P 0 128k 8k", "-c", "aio_flush",
		srv.url("d"))
	var out syncBuffer
	client.Stdout, client.Stderr = &out, &out
	if err := client.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- client.Wait() }()
	timer := time.AfterFunc(60*time.Second, func() { client.Process.Kill() })
	defer timer.Stop()

	waitStatus := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			got := s.ok("", "status", "d")
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("status %q after 30 s, want %q\nqemu-io: %s\nserver: %s", got, want, out.String(), srv.stderr)
			}
		}
	}
	waitStatus("0 2048 delay 3 0 0\n")
	s.ok("", "suspend", "d")
	if got := s.ok("", "status", "d"); got != "0 2048 delay 0 0 0\n" {
		t.Fatalf("status after the suspend %q", got)
	}
	s.ok("", "resume", "d")
	// the client's flush at its close waited for the resume
	select {
	case err := <-done:
		if err != nil || strings.Count(out.String(), "read ") != 3 {
			t.Fatalf("qemu-io: %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("qemu-io still running 30 s after the resume\n%s", srv.stacks())
	}
	again := exec.Command("qemu-io", "-f", "raw", "-c", "read 0 512", srv.url("d"))
	if err := again.Start(); err != nil {
		t.Fatal(err)
	}
	againDone := make(chan error, 1)
	go func() { againDone <- again.Wait() }()
	timer2 := time.AfterFunc(60*time.Second, func() { again.Process.Kill() })
	defer timer2.Stop()
	waitStatus("0 2048 delay 1 0 0\n")
	s.ok("", "suspend", "d")
	s.ok("", "resume", "d")
	if err := <-againDone; err != nil {
		t.Fatalf("read released by the second suspend: %v", err)
	}
}

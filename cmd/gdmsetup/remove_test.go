package main

import (
	"strings"
	"testing"
	"time"
)

// TestRemoveRetry: remove --retry tries a busy device again, printing each
// refusal, and takes it once another process has stopped using it; alone,
// a busy device is refused 25 times and the command fails.
func TestRemoveRetry(t *testing.T) {
	s := newSandbox(t)
	s.ok("", "create", "b", "--table", "0 100 zero")
	s.ok("", "create", "top", "--table", "0 100 linear /dev/mapper/b 0")
	busy := "device-mapper: remove ioctl on b  failed: Device or resource busy\n"
	s.expect(args("remove --retry b"), "", "", strings.Repeat(busy, removeTries)+"Command failed.\n", 1)

	done := make(chan result, 1)
	go func() { done <- s.run("", args("remove --retry b")...) }()
	time.Sleep(3 * removeRetryDelay)
	s.ok("", "remove", "top")
	r := <-done
	if r.code != 0 || strings.Count(r.stderr, busy) >= removeTries || strings.ReplaceAll(r.stderr, busy, "") != "" {
		t.Fatalf("remove --retry of a device freed meanwhile: %+v", r)
	}
	s.expect(args("ls"), "", "No devices found\n", "", 0)
}

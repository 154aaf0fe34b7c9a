package main

import (
	"path/filepath"
	"testing"
	"time"
)

func TestWait(t *testing.T) {
	s := newSandbox(t)
	s.ok("", "create", "z", "--table", "0 8 zero")
	s.expect(args("wait z 3"), "", "", "", 0)
	s.expect(args("wait nosuch"), "", "", "device-mapper: waitevent ioctl on nosuch  failed: No such device or address\nCommand failed.\n", 1)
	// an event raised by another process wakes a waiter: a striped device
	// whose stripe fails raises one
	s.file("a.img", 1<<20)
	s.ok("", "create", "st", "--table", "0 2048 striped 1 8 a.img 0")
	waitForStripeError(t, s, nil)
	s.expect(args("info st"), "", info("st", "ACTIVE", "LIVE", 0, 1, 1, 1, 256), "", 0)
	// the stripe's error count outlives the process that saw the error
	s.expect(args("status st"), "", "0 2048 striped 1 "+s.dir+"/a.img 1 D\n", "", 0)
}

// waitForStripeError runs `wait st 0` on the striped device st (one stripe,
// a.img), checks it does not return on its own (while between runs, if not
// nil, runs), then shrinks a.img so that a read fails on the stripe, and
// checks the event ends the wait.
func waitForStripeError(t *testing.T, s *sandbox, between func()) {
	t.Helper()
	done := make(chan result, 1)
	go func() { done <- s.run("", "wait", "st", "0") }()
	time.Sleep(300 * time.Millisecond)
	if between != nil {
		between()
	}
	select {
	case r := <-done:
		t.Fatalf("wait returned before any event: %+v", r)
	default:
	}
	if err := truncate(filepath.Join(s.dir, "a.img"), 512); err != nil {
		t.Fatal(err)
	}
	s.run("", "read", "st", "--offset", "4096", "--length", "512")
	select {
	case r := <-done:
		if r.code != 0 {
			t.Fatalf("wait: %+v", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("wait did not return after the event")
	}
}

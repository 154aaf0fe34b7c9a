package main

import (
	"testing"
	"time"
)

// linColumns is `info -c lin` of lin (253:0, one target, no uuid) with one
// opener: remove --deferred changes none of its attributes.
const linColumns = "Name             Maj Min Stat Open Targ Event  UUID                            \n" +
	"lin              253   0 L--w    1    1      0                                 \n"

// TestRemoveDeferred is the kernel transcript's "deferred removal": a device
// another one uses is refused by remove, marked by remove --deferred (the
// attributes and open count unchanged) and goes with its user; an unused
// device goes at once; a missing one is ENXIO. @cancel_deferred_remove
// clears the mark.
func TestRemoveDeferred(t *testing.T) {
	s := newSandbox(t)
	s.file("a.img", 8<<20)
	s.ok("", "create", "lin", "--table", "0 8192 linear a.img 0")
	s.ok("", "create", "top", "--table", "0 4096 linear /dev/mapper/lin 0")
	s.ok("", "create", "ro", "--readonly", "--table", "0 100 zero")
	busy := "device-mapper: remove ioctl on lin  failed: Device or resource busy\nCommand failed.\n"
	s.expect(args("remove lin"), "", "", busy, 1)
	s.expect(args("remove --deferred lin"), "", "", "", 0)
	s.expect(args("info -c lin"), "", linColumns, "", 0)
	s.expect(args("ls"), "", "lin\t(253:0)\nro\t(253:2)\ntop\t(253:1)\n", "", 0)
	s.expect(args("remove lin"), "", "", busy, 1)
	s.expect(args("remove top"), "", "", "", 0)
	s.expect(args("ls"), "", "ro\t(253:2)\n", "", 0)
	s.expect(args("info lin"), "", "", "Device does not exist.\nCommand failed.\n", 1)
	s.expect(args("remove --deferred nosuch"), "", "", "device-mapper: remove ioctl on nosuch  failed: No such device or address\nCommand failed.\n", 1)
	s.expect(args("remove --deferred ro"), "", "", "", 0)
	s.expect(args("ls"), "", "No devices found\n", "", 0)

	s.ok("", "create", "lin", "--table", "0 8192 linear a.img 0")
	s.ok("", "create", "top", "--table", "0 4096 linear /dev/mapper/lin 0")
	s.expect(args("remove --deferred lin"), "", "", "", 0)
	s.expect(args("message lin 0 @cancel_deferred_remove now"), "", "",
		"device-mapper: ioctl: Invalid arguments for @cancel_deferred_remove\ndevice-mapper: message ioctl on lin  failed: Invalid argument\nCommand failed.\n", 1)
	s.expect(args("message lin 0 @cancel_deferred_remove"), "", "", "", 0)
	s.expect(args("remove top"), "", "", "", 0)
	s.expect(args("ls"), "", "lin\t(253:0)\n", "", 0)
}

// TestServeRemoveDeferred: a device an NBD client (qemu-io) holds is marked
// by remove --deferred (or left and then marked by remove_all [--deferred])
// through the server, and the server removes it when the client
// disconnects; the registry it saves no longer has it.
func TestServeRemoveDeferred(t *testing.T) {
	s := newSandbox(t)
	s.file("a.img", 8<<20)
	s.ok("", "create", "lin", "--table", "0 16384 linear a.img 0")
	s.ok("", "create", "z", "--table", "0 8 zero")
	srv := s.serve()
	q := startQemuIO(t, srv.url("lin"))
	q.mustDo("write -P 0x5a 0 64k", "wrote 65536/65536")
	s.expect(args("remove lin"), "", "", "device-mapper: remove ioctl on lin  failed: Device or resource busy\nCommand failed.\n", 1)
	s.expect(args("remove --deferred lin"), "", "", "", 0)
	s.expect(args("info -c lin"), "", linColumns, "", 0)
	q.close()
	waitLs(t, s, srv, "z\t(253:1)\n")

	// remove_all leaves the open device; with --deferred it marks it
	q = startQemuIO(t, srv.url("z"))
	q.mustDo("read 0 4k", "read 4096/4096")
	warn := "device-mapper: ioctl: remove_all left 1 open device(s)\n"
	s.expect(args("remove_all"), "", "", warn, 0)
	s.expect(args("remove_all --deferred"), "", "", warn, 0)
	s.expect(args("ls"), "", "z\t(253:1)\n", "", 0)
	q.close()
	waitLs(t, s, srv, "No devices found\n")
	if code := srv.stop(); code != 0 {
		t.Fatalf("server exit %d:\n%s", code, srv.stderr)
	}
	s.expect(args("ls"), "", "No devices found\n", "", 0)
}

// waitLs waits up to 5 s for `ls` to print want (a server removes a marked
// device when the NBD client's connection ends).
func waitLs(t *testing.T, s *sandbox, srv *liveServer, want string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		out := s.ok("", "ls")
		if out == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ls after the client left:\n%s\nserver:\n%s", out, srv.stderr)
		}
	}
}

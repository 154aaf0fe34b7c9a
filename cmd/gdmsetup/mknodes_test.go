package main

import "testing"

// TestMknodes: as dmsetup on Linux 6.1 (cli-report transcript), mknodes
// succeeds silently with no name, a device's name or a name no device has,
// and changes nothing.
func TestMknodes(t *testing.T) {
	s := newSandbox(t)
	s.expect(args("mknodes"), "", "", "", 0)
	s.ok("", "create", "lin", "--table", "0 8 zero")
	before := s.state()
	for _, line := range []string{"mknodes", "mknodes lin", "mknodes nosuch", "mknodes /dev/mapper/lin lin nosuch"} {
		s.expect(args(line), "", "", "", 0)
	}
	if s.state() != before {
		t.Fatal("mknodes changed the state")
	}
}

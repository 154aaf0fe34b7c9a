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

// TestMknodesMakesNodes: a device without a table has no node until
// mknodes names it or runs without names; opening the node then fails
// with ENXIO instead of ENOENT (as Linux 6.1 in the cli-exec transcript).
func TestMknodesMakesNodes(t *testing.T) {
	s := newSandbox(t)
	for _, n := range []string{"n1", "n2", "n3"} {
		s.ok("", "create", n, "--notable")
	}
	open := func(n, why string) string { return "/dev/mapper/" + n + ": open failed: " + why + "\n" }
	enoent, enxio := "No such file or directory", "No such device or address"
	info := func(names, want string) {
		t.Helper()
		if r := s.run("", args("info "+names)...); r.code != 0 || r.stderr != want {
			t.Fatalf("info %s: exit %d, stderr %q, want %q", names, r.code, r.stderr, want)
		}
	}
	info("n1 n2", open("n1", enoent)+open("n2", enoent))
	s.ok("", "mknodes", "n1", "nosuch")
	info("n1 n2", open("n1", enxio)+open("n2", enoent))
	s.ok("", "mknodes")
	info("n2 n3", open("n2", enxio)+open("n3", enxio))
}

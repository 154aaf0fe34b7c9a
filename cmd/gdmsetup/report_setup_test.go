package main

import (
	"strings"
	"testing"
)

// TestSetUp checks what dmsetup does before a command runs: --units is
// refused for every command but --help and --version, after a report's
// fields, without "Command failed."; -o help lists the fields and the
// command still runs; --sort is refused with table and status.
func TestSetUp(t *testing.T) {
	s := newSandbox(t)
	s.ok("", "create", "z", "--table", "0 4096 zero")
	for _, cmd := range []string{"info z", "ls", "table", "status z", "version", "splitname vg-lv", "info -c z", "stats create z", "stats list", "ls --units 3z"} {
		s.expect(args(cmd+" --units x"), "", "", "Invalid --units argument.\n", 1)
	}
	if r := s.run("", args("info -c -o bogus --units x z")...); !strings.HasSuffix(r.stderr, " \nUnrecognised field: bogus\n") {
		t.Errorf("a bad field is refused before --units: %+v", r)
	}
	s.expect(args("--version --units x"), "", "Library version:   1.02.185 (2022-05-18)\nDriver version:    4.47.0\n", "", 0)
	s.expect(args("table -c -O name z"), "", "", "--sort is not yet supported with status and table.\n", 1)
	s.expect(args("info --units k z"), "", s.ok("", "info", "z"), "", 0)

	// -o help: the fields on stderr, then the command runs with an empty report
	if r := s.run("", args("stats create -o help z")...); r.code != 0 || r.stdout != "z: Created new region with 1 area(s) as region ID 0\n" || !strings.HasPrefix(r.stderr, "Mapped Device Name Fields\n") {
		t.Fatalf("stats create -o help: %+v", r)
	}
	if r := s.run("", args("stats list -o help --count 3 --interval 1")...); r.code != 0 || r.stdout != "" {
		t.Fatalf("stats list -o help repeats nothing: %+v", r)
	}
}

// TestSortSizes checks that -O orders size fields by their value, whatever
// --units shows.
func TestSortSizes(t *testing.T) {
	s := newSandbox(t)
	s.ok("", "create", "z", "--table", "0 8192 zero")
	for _, n := range []string{"100", "2000", "30"} {
		s.ok("", "stats", "create", "--start", "0", "--length", n, "z")
	}
	s.expect(args("stats list -o region_id,region_len -O region_len z"), "", "RgID RgSize  \n   2   15.00k\n   0   50.00k\n   1 1000.00k\n", "", 0)
	s.expect(args("stats list -o region_id,region_len -O -region_len --noheadings z"), "", "1:1000.00k\n0:50.00k\n2:15.00k\n", "", 0)
}

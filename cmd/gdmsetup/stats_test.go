package main

import (
	"strings"
	"testing"
)

// TestStatsAcrossCommands: a region created by one command counts the I/O
// of the next ones, and a third reports it; the errors are dmsetup's.
func TestStatsAcrossCommands(t *testing.T) {
	s := newSandbox(t)
	img := s.file("d.img", 8<<20)
	s.ok("", "create", "vol", "--table", "0 16384 linear "+img+" 0")
	s.expect(args("stats create vol --areas 4"), "", "vol: Created new region with 4 area(s) as region ID 0\n", "", 0)
	s.ok(strings.Repeat("x", 8192), "write", "vol", "--offset", "4M")
	s.ok("", "read", "vol", "--offset", "0", "--length", "4096")
	s.expect(args("stats report --noheadings -o region_id,area_id,read_count,read_sector_count,write_count,write_sector_count --area vol"), "",
		"0:0:1:8:0:0\n0:1:0:0:0:0\n0:2:0:0:1:16\n0:3:0:0:0:0\n", "", 0)
	s.expect(args("stats report --noheadings -o read_count --area vol"), "", "0\n0\n0\n0\n", "", 0)
	s.expect(args("stats list --noheadings vol"), "", "vol:-:0:region:0:8.00m:4:2.00m:dmstats\n", "", 0)
	s.expect(args("stats delete vol"), "", "", "Please specify a --regionid or --groupid, or use --allregions.\nCommand failed.\n", 1)
	s.expect(args("stats create vol --areas 2 --areasize 1m"), "", "", "Please specify one of --areas and --areasize.\nCommand failed.\n", 1)
	s.expect(args("stats frob vol"), "", "", "Unknown stats command.\nCommand failed.\n", 1)
	s.expect(args("message vol 0 @stats_delete 3"), "", "", "device-mapper: message ioctl on vol  failed: No such file or directory\nCommand failed.\n", 1)
	s.ok("", "stats", "delete", "--allregions", "vol")
	s.expect(args("message vol 0 @stats_list"), "", "", "", 0)
}

// TestStatsMangledNames: stats takes and shows device names as the other
// commands do, mangled for the kernel and decoded for the user.
func TestStatsMangledNames(t *testing.T) {
	s := newSandbox(t)
	s.ok("", "create", "a b", "--table", "0 64 zero")
	s.expect([]string{"stats", "create", "a b"}, "", "a b: Created new region with 1 area(s) as region ID 0\n", "", 0)
	s.ok("", "read", "a b", "--length", "4096")
	s.expect(args("stats report --noheadings -o statsname,read_count"), "", "a b:1\n", "", 0)
	s.expect([]string{"stats", "list", "--noheadings", "-o", "statsname,region_id", "a b"}, "", "a b:0\n", "", 0)
}

// TestStatsUnderServe: under `gdmsetup serve` the server holds the regions
// and counts the I/O sent to it; commands reach them through it.
func TestStatsUnderServe(t *testing.T) {
	s := newSandbox(t)
	img := s.file("d.img", 8<<20)
	s.ok("", "create", "vol", "--table", "0 16384 linear "+img+" 0")
	ls := s.serve()
	s.expect(args("message vol 0 @stats_create - /2"), "", "0\n", "", 0)
	s.ok("", "read", "vol", "--offset", "6M", "--length", "1M")
	s.expect(args("stats report --noheadings -o read_count,read_sector_count --area --allprograms vol"), "", "0:0\n1:2048\n", "", 0)
	if code := ls.stop(); code != 0 {
		t.Fatalf("serve exit %d\n%s", code, ls.stderr)
	}
	s.expect(args("message vol 0 @stats_list"), "", "0: 0+16384 8192 - -\n", "", 0)
}

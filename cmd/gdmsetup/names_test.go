package main

import (
	"strings"
	"testing"
)

// TestNamesTaken: how command-line names reach the registry, as dmsetup
// 1.02.185 (testdata/fidelity/mangle.scn, core-ops.scn): /dev/mapper paths
// are the kernel's names, mixed or doubly mangled names are refused with
// libdm's words, and a command on several names runs on those before a
// refused one.
func TestNamesTaken(t *testing.T) {
	s := newSandbox(t)
	s.ok("", "create", "a b", "--table", "0 8 zero")
	s.ok("", "create", "c", "--table", "0 8 zero")
	for _, name := range []string{"a b", `a\x20b`, `/dev/mapper/a\x20b`} {
		if out := s.ok("", "info", name); !strings.HasPrefix(out, "Name:              a b\n") {
			t.Errorf("info %q: %q", name, out)
		}
	}
	s.expect([]string{"info", "/dev/mapper/a b"}, "", "", "Device /dev/mapper/a b not found\nCommand failed.\n", 1)
	s.expect([]string{"info", "vg/lv"}, "", "", "Device vg/lv not found\nCommand failed.\n", 1)
	s.expect([]string{"create", "/dev/mapper/d", "--table", "0 8 zero"}, "", "", "Name \"/dev/mapper/d\" invalid. It contains \"/\".\nCommand failed.\n", 1)
	s.expect([]string{"create", "m\\x20n o", "--table", "0 8 zero"}, "", "",
		"The name \"m\\x20n o\" contains mixed mangled and unmangled characters or it's already mangled improperly.\nFailed to mangle device name \"m\\x20n o\".\nCommand failed.\n", 1)
	s.expect([]string{"create", "d", "--uuid", "u\\x5cxv", "--table", "0 8 zero"}, "", "",
		"The UUID \"u\\x5cxv\" seems to be mangled more than once. This is not allowed in auto mode.\nCommand failed.\n", 1)
	s.expect([]string{"rename", "c", "k\\x20l m"}, "", "",
		"The new name \"k\\x20l m\" contains mixed mangled and unmangled characters or it's already mangled improperly.\nFailed to mangle new device name \"k\\x20l m\"\nCommand failed.\n", 1)
	s.expect([]string{"table", "a b", "c"}, "", "a b: 0 8 zero \nc: 0 8 zero \n", "", 0)
	s.expect([]string{"deps", "-o", "devname", "a b"}, "", "0 dependencies\t:\n", "", 0)
	// a backslash in a table is an ordinary character, as through libdm
	s.ok("", "create", "top", "--table", `0 8 linear /dev/mapper/a\x20b 0`)
	s.expect([]string{"deps", "-o", "devname", "top"}, "", "1 dependencies\t: (a\\x20b)\n", "", 0)
	s.expect(args("ls --tree -o ascii"), "", "c (253:1)\ntop (253:2)\n `-a b (253:0)\n", "", 0)
	s.ok("", "remove", "top")
	s.expect([]string{"remove", "c", "e\\x5cxf", "a b"}, "", "", "The name \"e\\x5cxf\" seems to be mangled more than once. This is not allowed in auto mode.\nCommand failed.\n", 1)
	s.expect(args("ls"), "", "a b\t(253:0)\n", "", 0)
	s.expect(args("ls --manglename bogus"), "", "", "Unknown name mangling mode.\nCouldn't process command line.\n", 1)
}

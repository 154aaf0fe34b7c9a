package main

import (
	"strings"
	"testing"
)

// TestMangleCommand: the mangle command and the default mode, as dmsetup
// 1.02.185 on Linux 6.1 (testdata/fidelity/mangle.scn): names are stored
// mangled and shown decoded; a name stored raw (--manglename none) fails
// every listing until mangle renames it.
func TestMangleCommand(t *testing.T) {
	s := newSandbox(t)
	s.ok("", "create", "a b", "--table", "0 8 zero")
	s.ok("", "create", `x\x20y`, "--uuid", "u v", "--table", "0 8 zero")
	if st := s.state(); !strings.Contains(st, `"a\\x20b"`) || !strings.Contains(st, `"u\\x20v"`) {
		t.Fatalf("state does not hold the kernel's names: %s", st)
	}
	s.expect(args("ls"), "", "a b\t(253:0)\nx y\t(253:1)\n", "", 0)
	s.expect(args("ls --manglename none"), "", "a\\x20b\t(253:0)\nx\\x20y\t(253:1)\n", "", 0)
	s.expect([]string{"table"}, "", "a b: 0 8 zero \nx y: 0 8 zero \n", "", 0)
	s.expect(args("mangle"), "", "a\\x20b: [no UUID]: name already in correct form\nx\\x20y: u\\x20v: name and UUID already in correct form\n", "", 0)
	s.expect([]string{"mangle", "a b"}, "", "", "Command failed.\n", 1)
	s.expect(args("mangle --manglename none"), "", "a\\x20b: renaming to a b\n",
		"x\\x20y: u\\x20v: UUID in incorrect form. \nUnable to change device UUID. The device must be deactivated first.\nCommand failed.\n", 1)
	blacklisted := `The name "a b" should be mangled but it contains blacklisted characters.` + "\n"
	s.expect(args("ls"), "", "", blacklisted+"Command failed.\n", 1)
	s.expect(args("info"), "", "", blacklisted+"Command failed.\n", 1)
	s.expect([]string{"--manglename", "none", "ls"}, "", "a b\t(253:0)\nx\\x20y\t(253:1)\n", "", 0)
	s.expect([]string{"mangle", "a b"}, "", "a b: renaming to a\\x20b\n", "", 0)
	s.expect(args("ls"), "", "a b\t(253:0)\nx y\t(253:1)\n", "", 0)
	s.expect([]string{"--manglename", "none", "create", `v\x5cxw`, "--table", "0 8 zero"}, "", "", "", 0)
	s.expect([]string{"mangle", `v\x5cxw`}, "", "",
		`The name "v\x5cxw" seems to be mangled more than once. Manual intervention required to rename the device.`+"\nCommand failed.\n", 1)
	s.expect([]string{"mangle", "--manglename", "none", `v\x5cxw`}, "", `v\x5cxw: renaming to v\xw`+"\n", "", 0)
	s.expect(args("remove_all"), "", "",
		`The name "v\xw" contains mixed mangled and unmangled characters or it's already mangled improperly.`+"\n"+`Failed to mangle device name "v\xw".`+"\n", 0)
	s.expect(args("ls"), "", "No devices found\n", "", 0)
}

// TestMangleHex: hex mode encodes backslashes too; auto then refuses the
// result as mangled twice.
func TestMangleHex(t *testing.T) {
	s := newSandbox(t)
	s.ok("", "--manglename", "hex", "create", `k\x20l`, "--table", "0 8 zero")
	s.expect(args("ls --manglename hex"), "", "k\\x20l\t(253:0)\n", "", 0)
	s.expect(args("ls --manglename none"), "", "k\\x5cx20l\t(253:0)\n", "", 0)
	s.expect(args("ls"), "", "", `The name "k\x5cx20l" seems to be mangled more than once. This is not allowed in auto mode.`+"\nCommand failed.\n", 1)
	s.env = []string{manglingEnv + "=hex"}
	s.expect(args("ls"), "", "k\\x20l\t(253:0)\n", "", 0)
	s.expect([]string{"remove", `k\x20l`}, "", "", "", 0)
}

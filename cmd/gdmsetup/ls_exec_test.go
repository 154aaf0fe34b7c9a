package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestLsExec: `ls --exec CMD` runs CMD once per device, in name order, with
// /dev/mapper/NAME as its last argument (as dmsetup on Linux 6.1 in the
// cli-report transcript); its output passes through, its failures are not
// ours; -v adds each device's line, --target keeps the devices with such a
// target.
func TestLsExec(t *testing.T) {
	s := newSandbox(t)
	s.expect(args("ls --exec echo"), "", "No devices found\n", "", 0)
	a := s.file("a.img", 1<<20)
	s.ok("", "create", "vg-lv", "--table", "0 8 zero")
	s.ok("", "create", "lin", "--table", "0 8 linear "+a+" 0")
	s.ok("", "create", "empty", "--notable")
	s.expect(args("ls --exec echo"), "", "/dev/mapper/empty\n/dev/mapper/lin\n/dev/mapper/vg-lv\n", "", 0)
	s.expect([]string{"ls", "--exec", " echo  -n\tx "}, "", "x /dev/mapper/emptyx /dev/mapper/linx /dev/mapper/vg-lv", "", 0)
	s.expect(args("ls --exec echo --target zero -v"), "", "vg-lv\t(253, 0)\n/dev/mapper/vg-lv\n", "", 0)
	s.expect(args("-v ls --exec=echo"), "", "empty\t(253, 2)\n/dev/mapper/empty\nlin\t(253, 1)\n/dev/mapper/lin\nvg-lv\t(253, 0)\n/dev/mapper/vg-lv\n", "", 0)
	s.expect(args("ls --exec echo --target striped"), "", "", "", 0)
	s.expect(args("ls --exec false"), "", "", "", 0)
	s.expect(args("ls --exec gdmsetup-no-such-command"), "", "", "", 0)
	s.expect([]string{"ls", "--exec", " "}, "", "", "Command failed.\n", 1)
	s.expect([]string{"ls", "--exec", strings.Repeat("echo ", 256)}, "", "", "Too many args to --exec.\nCommand failed.\n", 1)
	s.expect([]string{"ls", "--exec", strings.Repeat("echo ", 255)}, "",
		strings.Repeat("echo ", 254)+"/dev/mapper/empty\n"+strings.Repeat("echo ", 254)+"/dev/mapper/lin\n"+strings.Repeat("echo ", 254)+"/dev/mapper/vg-lv\n", "", 0)
	s.expect(args("ls --exec echo x"), "", "", refusal("Incorrect number of arguments.", commands["ls"].help), 1)
}

// TestLsExecRunsGdmsetup: the commands --exec runs may run gdmsetup on the
// same devices, with or without a server (the listing lets go of the state
// directory before they run).
func TestLsExecRunsGdmsetup(t *testing.T) {
	s := newSandbox(t)
	s.ok("", "create", "b", "--table", "0 8 zero")
	s.ok("", "create", "a", "--table", "0 16 zero")
	nested := binary + " --dir " + filepath.Join(s.dir, "state") + " info -c --noheadings -o name,segments,open"
	want := "a:1:0\nb:1:0\n"
	s.expect([]string{"ls", "--exec", nested}, "", want, "", 0)
	srv := s.serve()
	s.expect([]string{"ls", "--exec", nested}, "", want, "", 0)
	if srv.stop() != 0 {
		t.Fatalf("server:\n%s", srv.stderr)
	}
}

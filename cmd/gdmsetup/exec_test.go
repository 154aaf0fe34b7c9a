package main

import (
	"fmt"
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
	// stdout is not a terminal: gdmsetup's own lines wait in a buffer, as dmsetup's
	s.expect(args("ls --exec echo --target zero -v"), "", "/dev/mapper/vg-lv\nvg-lv\t(253, 0)\n", "", 0)
	s.expect(args("-v ls --exec=echo"), "", "/dev/mapper/empty\n/dev/mapper/lin\n/dev/mapper/vg-lv\nempty\t(253, 2)\nlin\t(253, 1)\nvg-lv\t(253, 0)\n", "", 0)
	s.expect(args("ls --exec echo --target striped"), "", "", "", 0)
	s.expect(args("ls --exec false"), "", "", "", 0)
	s.expect(args("ls --exec gdmsetup-no-such-command"), "", "", "", 0)
	s.expect([]string{"ls", "--exec", " "}, "", "", "Command failed.\n", 1)
	s.expect([]string{"ls", "--exec", strings.Repeat("echo ", 256)}, "", "", "Too many args to --exec.\nCommand failed.\n", 1)
	s.expect([]string{"ls", "--exec", strings.Repeat("echo ", 255)}, "",
		strings.Repeat("echo ", 254)+"/dev/mapper/empty\n"+strings.Repeat("echo ", 254)+"/dev/mapper/lin\n"+strings.Repeat("echo ", 254)+"/dev/mapper/vg-lv\n", "", 0)
	s.expect(args("ls --exec echo x"), "", "", refusal("Incorrect number of arguments.", commands["ls"].help), 1)
}

// TestStatusExec: table, status and measure take --exec as ls does (as
// dmsetup on Linux 6.1 in the cli-exec transcript): the command runs for
// each matched device, named or listed; the lines come out only with -v,
// after what the commands printed; a missing name stops the named devices
// there; an empty command fails; the node of a device without a table is
// made before its command runs.
func TestStatusExec(t *testing.T) {
	s := newSandbox(t)
	s.ok("", "create", "z", "--table", "0 100 zero")
	s.ok("", "create", "two", "--table", "0 100 zero\n100 100 error")
	s.ok("", "create", "empty", "--notable")
	for _, c := range []string{"table", "status", "measure"} {
		s.expect(args(c+" --exec echo"), "", "/dev/mapper/empty\n/dev/mapper/two\n/dev/mapper/z\n", "", 0)
	}
	s.expect(args("table --exec echo --target error"), "", "/dev/mapper/two\n", "", 0)
	s.expect(args("status -v --exec echo z"), "", "/dev/mapper/z\n"+infoLong("z", 0)+"0 100 zero \n", "", 0)
	s.expect(args("table -v --exec echo --target error"), "", "/dev/mapper/two\n"+infoLong("two", 1)+"100 100 error \n\n", "", 0)
	s.expect(args("table --exec echo z nosuch two"), "", "/dev/mapper/z\n",
		"device-mapper: table ioctl on nosuch  failed: No such device or address\nCommand failed.\n", 1)
	s.expect([]string{"table", "--exec", "", "z", "two"}, "", "", "Command failed.\n", 1)
	s.expect([]string{"status", "--exec", "echo A  B", "z"}, "", "A B /dev/mapper/z\n", "", 0)
	s.expect(args("info empty"), "", "Name:              empty\nState:             ACTIVE\nTables present:    None\nOpen count:        0\n"+
		"Event number:      0\nMajor, minor:      253, 2\nNumber of targets: 0\n\n", "/dev/mapper/empty: open failed: No such device or address\n", 0)
}

// infoLong is `info`'s long form of a live device of one or two zero and
// error targets, as TestStatusExec made them (minors in creation order).
func infoLong(name string, minor int) string {
	targets := 1
	if name == "two" {
		targets = 2
	}
	return fmt.Sprintf("Name:              %s\nState:             ACTIVE\nRead Ahead:        256\nTables present:    LIVE\nOpen count:        0\n"+
		"Event number:      0\nMajor, minor:      253, %d\nNumber of targets: %d\n\n", name, minor, targets)
}

// TestColumnsVerbose: table, status and measure with -c -v print every
// device's lines, then the devices' info as one report (as dmsetup on Linux
// 6.1 in the cli-exec transcript), also when a later name failed.
func TestColumnsVerbose(t *testing.T) {
	s := newSandbox(t)
	s.ok("", "create", "z", "--table", "0 100 zero")
	s.ok("", "create", "two", "--table", "0 100 zero\n100 100 error")
	head := "Name             Maj Min Stat Open Targ Event  UUID                            \n"
	row := func(name string, minor, targets int) string {
		return fmt.Sprintf("%-16s 253 %3d L--w    0 %4d      0                                 \n", name, minor, targets)
	}
	s.expect(args("table -c -v z"), "", "0 100 zero \n"+head+row("z", 0, 1), "", 0)
	s.expect(args("status -c -v z two"), "", "0 100 zero \n\n0 100 zero \n100 100 error \n\n"+head+row("z", 0, 1)+row("two", 1, 2), "", 0)
	s.expect(args("table -c -v --target error"), "", "100 100 error \n\n"+head+row("two", 1, 2), "", 0)
	s.expect(args("measure -c -v -o name,segments z nosuch"), "", "0 100 zero \n\nName             Targ\nz                   1\n",
		"Device does not exist.\nCommand failed.\n", 1)
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

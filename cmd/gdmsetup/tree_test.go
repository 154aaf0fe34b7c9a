package main

import (
	"strings"
	"testing"
)

// TestLsTreeOptions follows the kernel transcript of testdata/fidelity/cli-tree.scn
// on a smaller stack; files print as their paths.
func TestLsTreeOptions(t *testing.T) {
	s := newSandbox(t)
	a := s.file("a.img", 8<<20)
	long := strings.Repeat("x", 70)
	s.ok("", "create", "lin", "--uuid", "U-1", "--table", "0 2048 linear a.img 0")
	s.ok("", "create", "top", "--table", "0 1024 linear /dev/mapper/lin 0")
	s.ok("", "create", "top2", "--readonly", "--table", "0 1024 linear /dev/mapper/lin 1024")
	s.ok("", "create", long, "--table", "0 512 linear /dev/mapper/top 0")
	s.ok("", "create", "empty", "--notable")
	s.ok("", "suspend", "top2")
	// 79 columns and "..." once a line passes 80
	cut := func(l string) string {
		if len(l) > 80 {
			return l[:79] + "..."
		}
		return l
	}
	s.expect(args("ls --tree"), "", "empty (253:4)\ntop2 (253:2)\n `-lin (253:0)\n    `- ("+a+")\n"+
		cut(long+" (253:3)")+"\n `-top (253:1)\n    `-lin (253:0)\n       `- ("+a+")\n", "", 0)
	s.expect(args("ls --tree -o notrunc,nodevice,active,rw,open,uuid"), "", "empty [ACTIVE, RW, 0, ]\ntop2 [SUSPENDED, RO, 0, ]\n `-lin [ACTIVE, RW, 2, U-1]\n"+
		long+" [ACTIVE, RW, 0, ]\n `-top [ACTIVE, RW, 1, ]\n    `-lin [ACTIVE, RW, 2, U-1]\n", "", 0)
	// inverted: from the devices that use nothing, in the order the tree met them
	s.expect(args("ls --tree -o inv,blkdevname,nodevice"), "", "empty\n <"+a+">\n `-lin <dm-0>\n    |-top <dm-1>\n    |  `-"+long+"...\n"+
		"    `-top2 <dm-2>\n", "", 0)
	s.expect(args("ls --tree -o compact,notrunc"), "", "empty (253:4)\ntop2 (253:2)---lin (253:0)--- ("+a+")\n"+
		long+" (253:3)---top (253:1)---lin (253:0)--- ("+a+")\n", "", 0)
	// a compact child lines up under its parent's connector: the widths of
	// " (PATH)" and "───lin (253:0)" (14 columns), one space before each, and
	// the two columns of the level between
	pad := strings.Repeat(" ", len(" ("+a+")")+1+2+14+1)
	s.expect(args("ls --tree -o compact,inverted,notrunc,utf"), "", "empty (253:4)\n ("+a+")───lin (253:0)─┬─top (253:1)───"+long+" (253:3)\n"+
		pad+"└─top2 (253:2)\n", "", 0)
	// a UTF-8 locale draws with box characters unless told ascii
	s.env = []string{"LC_ALL=", "LC_CTYPE=", "LANG=en_US.UTF-8"}
	s.expect(args("ls --tree -o nodevice"), "", "empty\ntop2\n └─lin\n"+long+"\n └─top\n    └─lin\n", "", 0)
	s.expect(args("ls --tree -o nodevice,ascii"), "", "empty\ntop2\n `-lin\n"+long+"\n `-top\n    `-lin\n", "", 0)
	s.env = nil
	s.expect(args("ls --tree -o bogus,rw"), "", "", "Tree options not recognised: bogus,rw.\nCouldn't process command line.\n", 1)
	// exactly 80 columns: kept whole
	s.ok("", "remove_all")
	name80 := strings.Repeat("y", 80-len(" (253:0)"))
	s.ok("", "create", name80, "--table", "0 8 zero")
	s.expect(args("ls --tree"), "", name80+" (253:0)\n", "", 0)
}

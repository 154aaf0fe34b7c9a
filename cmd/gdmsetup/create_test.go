package main

import "testing"

func TestCreateFromTableStdinAndFile(t *testing.T) {
	s := newSandbox(t)
	a := s.file("a.img", 64<<20)
	b := s.file("b.img", 64<<20)
	s.ok("0 131072 linear a.img 0\n131072 131072 linear b.img 0\n", "create", "joined")
	s.ok("", "create", "st", "--table", "0 262144 striped 2 128 a.img 0 b.img 0")
	s.file("t.txt", 0)
	s.ok("", "create", "z", "--uuid", "UUID-Z", "--table", "# a comment\n\n0 100 zero   # trailing comment")
	s.expect(args("table"), "", "joined: 0 131072 linear "+a+" 0\njoined: 131072 131072 linear "+b+" 0\n"+
		"st: 0 262144 striped 2 128 "+a+" 0 "+b+" 0\nz: 0 100 zero \n", "", 0)
	s.expect(args("ls"), "", "joined\t(253:0)\nst\t(253:1)\nz\t(253:2)\n", "", 0)
}

func TestCreateFromFileArgument(t *testing.T) {
	s := newSandbox(t)
	s.file("a.img", 1<<20)
	s.ok("", "create", "x", "--table", "0 8 zero")
	writeFile(t, s.dir+"/tbl", "0 2048 linear a.img 0\n")
	s.ok("", "create", "lin", "tbl")
	s.expect(args("table lin"), "", "0 2048 linear "+s.dir+"/a.img 0\n", "", 0)
	s.expect(args("create bad missing.tbl"), "", "", "Couldn't open 'missing.tbl' for reading.\nCommand failed.\n", 1)
}

func TestCreateErrorsAndMinors(t *testing.T) {
	s := newSandbox(t)
	a := s.file("a.img", 8<<20)
	s.ok("", "create", "one", "--table", "0 100 zero")
	s.ok("", "create", "two", "--uuid", "U2", "--table", "0 100 zero")
	before := s.state()
	cases := []struct {
		table, stderr string
	}{
		{"0 100 zero\n200 100 zero", "device-mapper: table: 253:2: zero: Gap in table (-EINVAL)\ndevice-mapper: ioctl: error adding target to table\n" +
			"device-mapper: reload ioctl on bad (253:2) failed: Invalid argument\nCommand failed.\n"},
		{"0 100 foobar", "device-mapper: table: 253:2: foobar: unknown target type\ndevice-mapper: ioctl: error adding target to table\n" +
			"device-mapper: reload ioctl on bad (253:2) failed: Invalid argument\nCommand failed.\n"},
		{"0 0 zero", "device-mapper: table: 253:2: zero-length target\ndevice-mapper: ioctl: error adding target to table\n" +
			"device-mapper: reload ioctl on bad (253:2) failed: Invalid argument\nCommand failed.\n"},
		{"0 20000 linear " + a + " 0", "device-mapper: table: 253:2: " + a + " too small for target: start=0, len=20000, dev_size=16384\n" +
			"device-mapper: core: Cannot calculate initial queue limits\ndevice-mapper: ioctl: unable to set up device queue for new table.\n" +
			"device-mapper: reload ioctl on bad (253:2) failed: Invalid argument\nCommand failed.\n"},
		{"0 100 linear nosuch.img 0", "device-mapper: table: 253:2: linear: Device lookup failed (-ENODEV)\ndevice-mapper: ioctl: error adding target to table\n" +
			"device-mapper: reload ioctl on bad (253:2) failed: No such device\nCommand failed.\n"},
		{"0 100 linear 253:9 0", "device-mapper: table: 253:2: linear: Device lookup failed (-ENXIO)\ndevice-mapper: ioctl: error adding target to table\n" +
			"device-mapper: reload ioctl on bad (253:2) failed: No such device or address\nCommand failed.\n"},
		{"0 zero", "Invalid format on line 1 of table .\nCommand failed.\n"},
		{"0 100 zero\nx 100 zero", "Invalid format on line 2 of table .\nCommand failed.\n"},
	}
	for _, c := range cases {
		s.expect([]string{"create", "bad", "--table", c.table}, "", "", c.stderr, 1)
		if after := s.state(); after != before {
			t.Fatalf("failed create of %q changed the state:\n%s\n%s", c.table, before, after)
		}
	}
	s.expect(args("create bad"), "1 2 3 4\n0 x\n", "", "Invalid format on line 2 of table on stdin.\nCommand failed.\n", 1)
	s.expect([]string{"create", "one", "--table", "0 1 zero"}, "", "", "device-mapper: create ioctl on one  failed: Device or resource busy\nCommand failed.\n", 1)
	s.expect([]string{"create", "three", "--uuid", "U2", "--table", "0 1 zero"}, "", "", "device-mapper: create ioctl on three U2 failed: Device or resource busy\nCommand failed.\n", 1)
	s.ok("", "remove", "one")
	s.ok("", "create", "again", "--table", "0 1 zero")
	s.expect(args("ls"), "", "again\t(253:0)\ntwo\t(253:1)\n", "", 0)
}

func TestCreateNotableAndConcise(t *testing.T) {
	s := newSandbox(t)
	s.ok("", "create", "empty", "--notable")
	s.expect(args("info empty"), "", "Name:              empty\nState:             ACTIVE\nTables present:    None\n"+
		"Open count:        0\nEvent number:      0\nMajor, minor:      253, 0\nNumber of targets: 0\n\n",
		"/dev/mapper/empty: open failed: No such file or directory\n", 0)
	s.expect(args("table empty"), "", "\n", "", 0)
	s.ok("", "create", "--concise", `c1,UU\,1,,rw,0 10 zero,10 5 error;c2,,,ro,0 8 zero`)
	s.expect(args("table --concise"), "", `c1,UU\,1,1,rw,0 10 zero ,10 5 error ;c2,,2,ro,0 8 zero ;empty,,0,rw,;`+"\n", "", 0)
	s.expect([]string{"create", "--concise", "a,b,c"}, "", "", "Five comma-separated fields are required for each device\nCommand failed.\n", 1)
	s.expect([]string{"create", "--concise", "a,,,xx,0 1 zero"}, "", "", "Invalid flags parameter 'xx' must be 'ro' or 'rw' or empty.\nCommand failed.\n", 1)
}

package main

import "testing"

func TestListingCommands(t *testing.T) {
	s := newSandbox(t)
	a := s.file("a.img", 8<<20)
	b := s.file("b.img", 8<<20)
	s.ok("", "create", "str", "--uuid", "U-STR", "--table", "0 8192 striped 2 128 a.img 4096 b.img 8192")
	s.ok("0 100 linear "+a+" 0\n100 50 error\n150 200 zero\n", "create", "mixed")
	s.ok("", "create", "str96", "--table", "0 3072 striped 2 96 a.img 0 b.img 0")
	s.ok("", "create", "stack", "--table", "0 2048 linear /dev/mapper/str 0")
	s.expect(args("ls"), "", "mixed\t(253:1)\nstack\t(253:3)\nstr\t(253:0)\nstr96\t(253:2)\n", "", 0)
	s.expect(args("ls --target striped"), "", "str\t(253, 0)\nstr96\t(253, 2)\n", "", 0)
	s.expect(args("table mixed"), "", "0 100 linear "+a+" 0\n100 50 error \n150 200 zero \n", "", 0)
	s.expect(args("status mixed"), "", "0 100 linear \n100 50 error \n150 200 zero \n", "", 0)
	s.expect(args("table --target zero mixed"), "", "150 200 zero \n", "", 0)
	s.expect(args("status str"), "", "0 8192 striped 2 "+a+" "+b+" 1 AA\n", "", 0)
	s.expect(args("table str"), "", "0 8192 striped 2 128 "+a+" 4096 "+b+" 8192\n", "", 0)
	s.expect(args("status"), "", "mixed: 0 100 linear \nmixed: 100 50 error \nmixed: 150 200 zero \nstack: 0 2048 linear \n"+
		"str: 0 8192 striped 2 "+a+" "+b+" 1 AA\nstr96: 0 3072 striped 2 "+a+" "+b+" 1 AA\n", "", 0)
	s.expect(args("deps str"), "", "2 dependencies\t: ("+b+") ("+a+")\n", "", 0)
	s.expect(args("deps"), "", "mixed: 1 dependencies\t: ("+a+")\nstack: 1 dependencies\t: (253, 0)\n"+
		"str: 2 dependencies\t: ("+b+") ("+a+")\nstr96: 2 dependencies\t: ("+b+") ("+a+")\n", "", 0)
	// read-ahead: max(256, 2 x io_opt); a linear device over a striped one inherits its io_opt
	s.expect(args("info str"), "", "Name:              str\nState:             ACTIVE\nRead Ahead:        512\nTables present:    LIVE\nOpen count:        1\n"+
		"Event number:      0\nMajor, minor:      253, 0\nNumber of targets: 1\nUUID: U-STR\n\n", "", 0)
	s.expect(args("info str96"), "", info("str96", "ACTIVE", "LIVE", 0, 0, 2, 1, 384), "", 0)
	s.expect(args("info stack"), "", info("stack", "ACTIVE", "LIVE", 0, 0, 3, 1, 512), "", 0)
	s.expect(args("info -c"), "", "Name             Maj Min Stat Open Targ Event  UUID                            \n"+
		"mixed            253   1 L--w    0    3      0                                 \n"+
		"stack            253   3 L--w    0    1      0                                 \n"+
		"str              253   0 L--w    1    1      0 U-STR                           \n"+
		"str96            253   2 L--w    0    1      0                                 \n", "", 0)
	s.expect(args("info -c -o name,uuid,major,minor,open,segments,events str"), "",
		"Name             UUID                             Maj Min Open Targ Event \n"+
			"str              U-STR                            253   0    1    1      0\n", "", 0)
	s.expect(args("info -c --noheadings -o name,attr str"), "", "str:L--w\n", "", 0)
	s.expect(args("info -c -o name,attr --separator , -O -name"), "", "Name,Stat\nstr96,L--w\nstr,L--w\nstack,L--w\nmixed,L--w\n", "", 0)
	s.expect(args("ls --tree"), "", "mixed (253:1)\n `- ("+a+")\nstack (253:3)\n `-str (253:0)\n    |- ("+b+")\n    `- ("+a+")\n"+
		"str96 (253:2)\n |- ("+b+")\n `- ("+a+")\n", "", 0)
}

func TestTargetsAndVersion(t *testing.T) {
	s := newSandbox(t)
	out := s.ok("", "targets")
	for _, want := range []string{"striped          v1.6.0\n", "linear           v1.4.0\n", "zero             v1.1.0\n", "error            v1.5.0\n"} {
		if !contains(out, want) {
			t.Errorf("targets lacks %q:\n%s", want, out)
		}
	}
	s.expect(args("version"), "", "Library version:   1.02.185 (2022-05-18)\nDriver version:    4.47.0\n", "", 0)
}

func TestMessage(t *testing.T) {
	s := newSandbox(t)
	s.ok("", "create", "z", "--table", "0 100 zero")
	before := s.state()
	s.expect(args("message z 0 hello"), "", "", "device-mapper: ioctl: Target type does not support messages\n"+
		"device-mapper: message ioctl on z  failed: Invalid argument\nCommand failed.\n", 1)
	s.expect(args("message z 0"), "", "", "No message supplied.\ndevice-mapper: ioctl: Empty message received.\n"+
		"device-mapper: message ioctl on z  failed: Invalid argument\nCommand failed.\n", 1)
	s.expect(args("message z x hello"), "", "", "Invalid sector.\nCommand failed.\n", 1)
	s.expect(args("message z 100 hello"), "", "", "device-mapper: ioctl: Target message sector outside device.\n"+
		"device-mapper: message ioctl on z  failed: Invalid argument\nCommand failed.\n", 1)
	s.expect(args("message nosuch 0 hello"), "", "", "device-mapper: message ioctl on nosuch  failed: No such device or address\nCommand failed.\n", 1)
	if s.state() != before {
		t.Fatal("failed messages changed the state")
	}
}

package main

import "testing"

// info is the long `info` text dmsetup prints for a device.
func info(name, state, tables string, open, event, minor, targets int, readAhead int) string {
	return "Name:              " + name + "\nState:             " + state + "\nRead Ahead:        " + itoa(readAhead) +
		"\nTables present:    " + tables + "\nOpen count:        " + itoa(open) + "\nEvent number:      " + itoa(event) +
		"\nMajor, minor:      253, " + itoa(minor) + "\nNumber of targets: " + itoa(targets) + "\n\n"
}

func TestSuspendReloadResumeClear(t *testing.T) {
	s := newSandbox(t)
	a := s.file("a.img", 8<<20)
	c := s.file("c.img", 4<<20)
	s.ok("", "create", "lin", "--table", "0 2048 linear a.img 0")
	s.ok("", "suspend", "lin")
	s.expect(args("info lin"), "", info("lin", "SUSPENDED", "LIVE", 0, 0, 0, 1, 256), "", 0)
	s.ok("", "reload", "lin", "--table", "0 4096 linear c.img 0")
	s.expect(args("info lin"), "", info("lin", "SUSPENDED", "LIVE & INACTIVE", 0, 0, 0, 1, 256), "", 0)
	s.expect(args("table lin"), "", "0 2048 linear "+a+" 0\n", "", 0)
	s.expect(args("table --inactive lin"), "", "0 4096 linear "+c+" 0\n", "", 0)
	s.expect(args("info -c lin"), "", "Name             Maj Min Stat Open Targ Event  UUID                            \n"+
		"lin              253   0 LIsw    0    1      0                                 \n", "", 0)
	s.ok("", "resume", "lin")
	s.expect(args("info lin"), "", info("lin", "ACTIVE", "LIVE", 0, 0, 0, 1, 256), "", 0)
	s.expect(args("table lin"), "", "0 4096 linear "+c+" 0\n", "", 0)

	// a failed reload changes nothing
	before := s.state()
	s.expect([]string{"reload", "lin", "--table", "0 100 foobar"}, "", "",
		"device-mapper: table: 253:0: foobar: unknown target type\ndevice-mapper: ioctl: error adding target to table\n"+
			"device-mapper: reload ioctl on lin  failed: Invalid argument\nCommand failed.\n", 1)
	if s.state() != before {
		t.Fatal("failed reload changed the state")
	}
	s.ok("", "reload", "lin", "--table", "0 8 zero")
	s.ok("", "clear", "lin")
	s.expect(args("info lin"), "", info("lin", "ACTIVE", "LIVE", 0, 0, 0, 1, 256), "", 0)

	// a reload too big for its device fails at resume, and the inactive table is gone
	s.ok("", "reload", "lin", "--table", "0 9000 linear c.img 0")
	s.expect(args("resume lin"), "", "", "device-mapper: table: 253:0: "+c+" too small for target: start=0, len=9000, dev_size=8192\n"+
		"device-mapper: resume ioctl on lin  failed: Invalid argument\nCommand failed.\n", 1)
	s.expect(args("info lin"), "", info("lin", "SUSPENDED", "LIVE", 0, 0, 0, 1, 256), "", 0)
	s.ok("", "resume", "lin")
	s.ok("", "wipe_table", "lin")
	s.expect(args("table lin"), "", "0 4096 error \n", "", 0)
}

func TestRenameRemoveRemoveAll(t *testing.T) {
	s := newSandbox(t)
	s.file("a.img", 8<<20)
	s.ok("", "create", "base", "--table", "0 2048 linear a.img 0")
	s.ok("", "create", "top", "--table", "0 1024 linear /dev/mapper/base 8")
	s.ok("", "create", "top2", "--table", "0 1024 linear 253:0 16")
	s.expect(args("info base"), "", info("base", "ACTIVE", "LIVE", 2, 0, 0, 1, 256), "", 0)
	s.ok("", "rename", "base", "base2")
	s.expect(args("table top"), "", "0 1024 linear 253:0 8\n", "", 0)
	s.expect(args("deps top"), "", "1 dependencies\t: (253, 0)\n", "", 0)
	s.expect(args("rename top top2"), "", "", "device-mapper: ioctl: Unable to change name on mapped device top to one that already exists: top2\ndevice-mapper: rename ioctl on top  failed: Device or resource busy\nCommand failed.\n", 1)
	s.expect(args("remove base2"), "", "", "device-mapper: remove ioctl on base2  failed: Device or resource busy\nCommand failed.\n", 1)
	s.expect(args("remove nosuch"), "", "", "device-mapper: remove ioctl on nosuch  failed: No such device or address\nCommand failed.\n", 1)
	s.expect(args("status nosuch"), "", "", "Device does not exist.\nCommand failed.\n", 1)
	s.expect(args("info nosuch"), "", "", "Device does not exist.\nCommand failed.\n", 1)
	s.expect(args("table nosuch"), "", "", "device-mapper: table ioctl on nosuch  failed: No such device or address\nCommand failed.\n", 1)
	s.expect(args("deps nosuch"), "", "", "device-mapper: deps ioctl on nosuch  failed: No such device or address\nCommand failed.\n", 1)
	s.expect(args("suspend nosuch"), "", "", "device-mapper: suspend ioctl on nosuch  failed: No such device or address\nCommand failed.\n", 1)
	s.ok("", "remove", "top")
	// the rename raised an event
	s.expect(args("info base2"), "", info("base2", "ACTIVE", "LIVE", 1, 1, 0, 1, 256), "", 0)
	s.ok("", "remove_all")
	s.expect(args("ls"), "", "No devices found\n", "", 0)
	s.expect(args("table"), "", "No devices found\n", "", 0)
	s.expect(args("info"), "", "No devices found\n", "", 0)
}

func TestSelfReferenceAndCycles(t *testing.T) {
	s := newSandbox(t)
	s.ok("", "create", "a", "--table", "0 100 zero")
	s.ok("", "create", "b", "--table", "0 100 linear /dev/mapper/a 0")
	s.expect([]string{"reload", "a", "--table", "0 100 linear /dev/mapper/b 0"}, "", "",
		"device-mapper: table: 253:0: linear: Device lookup failed (-EINVAL)\ndevice-mapper: ioctl: error adding target to table\n"+
			"device-mapper: reload ioctl on a  failed: Invalid argument\nCommand failed.\n", 1)
	s.expect([]string{"reload", "a", "--table", "0 100 linear 253:0 0"}, "", "",
		"device-mapper: table: 253:0: linear: Device lookup failed (-EINVAL)\ndevice-mapper: ioctl: error adding target to table\n"+
			"device-mapper: reload ioctl on a  failed: Invalid argument\nCommand failed.\n", 1)
}

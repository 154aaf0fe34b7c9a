package main

import "testing"

// TestSetGeometry: setgeometry succeeds silently on a geometry the kernel
// takes (as dmsetup on Linux 6.1 in the cli-report transcript); one it
// refuses gives the kernel's log line, dmsetup's ioctl line and exit 1;
// none changes the state.
func TestSetGeometry(t *testing.T) {
	s := newSandbox(t)
	s.ok("", "create", "vg-lv", "--table", "0 4096 zero")
	before := s.state()
	s.expect(args("setgeometry vg-lv 1 2 3 0 --noudevsync"), "", "", "", 0)
	s.expect(args("setgeometry /dev/mapper/vg-lv 65535 255 255 16581375"), "", "", "", 0)
	s.expect(args("setgeometry vg-lv 01 2 3 6"), "", "", "", 0)
	fails := func(line, klog string) {
		t.Helper()
		s.expect(args(line), "", "", "device-mapper: "+klog+"\ndevice-mapper: setgeometry ioctl on vg-lv  failed: Invalid argument\nCommand failed.\n", 1)
	}
	fails("setgeometry vg-lv 1 2 3 7", "core: Start sector is beyond the geometry limits.")
	fails("setgeometry vg-lv 65536 1 1 0", "ioctl: Geometry exceeds range limits.")
	fails("setgeometry vg-lv 1 256 1 0", "ioctl: Geometry exceeds range limits.")
	fails("setgeometry vg-lv 1 1 256 0", "ioctl: Geometry exceeds range limits.")
	fails("setgeometry vg-lv x 2 3 0", "ioctl: Unable to interpret geometry settings.")
	fails("setgeometry vg-lv +1 2 3 0", "ioctl: Unable to interpret geometry settings.")
	fails("setgeometry vg-lv 1 2 3 0x", "ioctl: Unable to interpret geometry settings.")
	s.expect([]string{"setgeometry", "vg-lv", "1", "2", "3", "0 "}, "", "",
		"device-mapper: ioctl: Unable to interpret geometry settings.\ndevice-mapper: setgeometry ioctl on vg-lv  failed: Invalid argument\nCommand failed.\n", 1)
	s.expect(args("setgeometry nosuch 1 2 3 0"), "", "", "device-mapper: setgeometry ioctl on nosuch  failed: No such device or address\nCommand failed.\n", 1)
	s.expect(args("setgeometry vg-lv 1 2 3"), "", "", refusal("Incorrect number of arguments.", commands["setgeometry"].help), 1)
	if s.state() != before {
		t.Fatal("setgeometry changed the state")
	}
}

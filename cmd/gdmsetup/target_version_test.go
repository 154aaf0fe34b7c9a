package main

import "testing"

func TestTargetVersion(t *testing.T) {
	s := newSandbox(t)
	s.expect(args("target-version zero linear"), "", "zero             v1.1.0\nlinear           v1.4.0\n", "", 0)
	s.expect(args("target-version linear bogus"), "", "linear           v1.4.0\n",
		"device-mapper: target-version ioctl on bogus  failed: Invalid argument\nCommand failed.\n", 1)
	s.expect(args("target-version"), "", "", "Incorrect number of arguments.\nUsage: gdmsetup target-version TYPE...\n`gdmsetup help` lists the commands.\n", 1)
}

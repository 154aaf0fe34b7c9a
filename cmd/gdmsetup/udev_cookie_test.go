package main

import "testing"

func TestParseCookie(t *testing.T) {
	for s, want := range map[string]uint32{"1": 1, "0xd4d0001": 0xd4d0001, "0XFF": 255, "010": 8, " 7": 7, "+9": 9, "4294967295": 1<<32 - 1} {
		if got, err := parseCookie(s); err != nil || got != want {
			t.Errorf("parseCookie(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "0", "x", "12abc", "0x100000000", "-1", "1_000", "0b1", "0o7", "08", "99999999999999999999"} {
		if got, err := parseCookie(s); err == nil {
			t.Errorf("parseCookie(%q) = %d, want an error", s, got)
		}
	}
}

// TestUdevCommands checks the cookie commands where no udev runs, and
// udevcomplete_all's confirmation read from stdin as dmsetup reads it.
func TestUdevCommands(t *testing.T) {
	s := newSandbox(t)
	s.expect(args("udevcreatecookie"), "", "", "", 0)
	s.expect(args("udevflags 0x3d4d0000"), "", "DM_UDEV_DISABLE_DM_RULES_FLAG='1'\nDM_UDEV_DISABLE_DISK_RULES_FLAG='1'\nDM_UDEV_DISABLE_OTHER_RULES_FLAG='1'\nDM_UDEV_PRIMARY_SOURCE_FLAG='1'\nDM_SUBSYSTEM_UDEV_FLAG0='1'\nDM_SUBSYSTEM_UDEV_FLAG2='1'\nDM_SUBSYSTEM_UDEV_FLAG3='1'\nDM_SUBSYSTEM_UDEV_FLAG4='1'\nDM_SUBSYSTEM_UDEV_FLAG5='1'\n", "", 0)
	s.expect(args("udevreleasecookie --udevcookie 5"), "", "", "", 0)
	s.expect(args("udevreleasecookie --udevcookie x"), "", "", "Incorrect cookie value.\nNo udev transaction cookie given.\nCommand failed.\n", 1)
	const prompt = "Do you really want to continue? [y/n]: "
	const kept = "Semaphores with keys prefixed by 3405 (0xd4d) NOT destroyed.\n"
	const done = "0 semaphores with keys prefixed by 3405 (0xd4d) destroyed. 0 skipped.\n"
	for _, c := range []struct{ in, out string }{
		{"y\n", prompt + done},
		{"yes\n", prompt + done},
		{"Y", prompt + "\n" + kept}, // the end of input answers n
		{"x\nn\n", prompt + prompt + kept},
		{"ny\n", prompt + done},
		{"", prompt + "\n" + kept},
	} {
		s.expect(args("udevcomplete_all 3"), c.in, c.out, "WARNING: This operation will destroy all semaphores older than 3 minutes with keys that have a prefix 3405 (0xd4d).\n", 0)
	}
	if r := s.run("", "create", "z", "--udevcookie", "0", "--table", "0 8 zero"); r.code != 0 || r.stderr != "Incorrect cookie value.\n" {
		t.Errorf("a bad --udevcookie is reported when the options are read: %+v", r)
	}
}

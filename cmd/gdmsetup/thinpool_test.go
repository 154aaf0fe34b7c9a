package main

import (
	"bytes"
	"os"
	"testing"
)

// TestThinPoolBadInputChangesNothing: bad messages and tables leave the
// registry and the pool metadata as they were.
func TestThinPoolBadInputChangesNothing(t *testing.T) {
	s := newSandbox(t)
	meta := s.file("meta.img", 4<<20)
	data := s.file("data.img", 64<<20)
	s.ok("", "create", "pool", "--table", "0 131072 thin-pool meta.img data.img 128 16")
	s.ok("", "message", "pool", "0", "create_thin", "0")
	s.ok("", "create", "thin0", "--table", "0 2097152 thin /dev/mapper/pool 0")
	s.ok("x", "write", "thin0")
	state := s.state()
	metaBytes, _ := os.ReadFile(meta)
	pool := "device-mapper: message ioctl on pool  failed: "
	cases := []struct {
		args   []string
		stderr string
	}{
		{args("message pool 0 create_thin 0"), "device-mapper: thin: Creation of new thinly-provisioned device with id 0 failed.\n" + pool + "File exists\nCommand failed.\n"},
		{args("message pool 0 create_thin 16777216"), "device-mapper: thin: Message received with invalid device id: 16777216\n" + pool + "Invalid argument\nCommand failed.\n"},
		{args("message pool 0 create_snap 1 7"), "device-mapper: thin: Creation of new snapshot 1 of device 7 failed.\n" + pool + "No data available\nCommand failed.\n"},
		{args("message pool 0 delete 0"), "device-mapper: thin: Deletion of thin device 0 failed.\n" + pool + "Device or resource busy\nCommand failed.\n"},
		{args("message pool 0 set_transaction_id 5 6"), "device-mapper: thin metadata: mismatched transaction id\ndevice-mapper: thin: Failed to change transaction id from 5 to 6.\n" + pool + "Invalid argument\nCommand failed.\n"},
		{args("message pool 0 set_transaction_id 0 x"), "device-mapper: thin: set_transaction_id message: Unrecognised new id x.\n" + pool + "Invalid argument\nCommand failed.\n"},
		{args("message pool 0 release_metadata_snap"), "device-mapper: thin metadata: No pool metadata snapshot found: nothing to release.\ndevice-mapper: thin: release_metadata_snap message failed.\n" + pool + "Invalid argument\nCommand failed.\n"},
		{args("message pool 0 create_thin 1 2"), "device-mapper: thin: Message received with 3 arguments instead of 2.\n" + pool + "Invalid argument\nCommand failed.\n"},
		{[]string{"create", "t2", "--table", "0 100 thin /dev/mapper/pool 9"}, "device-mapper: table: 253:2: thin: Couldn't open thin internal device (-ENODATA)\ndevice-mapper: ioctl: error adding target to table\n" +
			"device-mapper: reload ioctl on t2 (253:2) failed: No data available\nCommand failed.\n"},
		{[]string{"create", "t2", "--table", "0 100 thin " + data + " 0"}, "device-mapper: table: 253:2: thin: Couldn't get pool mapped device (-EINVAL)\ndevice-mapper: ioctl: error adding target to table\n" +
			"device-mapper: reload ioctl on t2 (253:2) failed: Invalid argument\nCommand failed.\n"},
		{[]string{"create", "t2", "--table", "0 100 thin /dev/mapper/thin0 0"}, "device-mapper: table: 253:2: thin: Couldn't find pool object (-EINVAL)\ndevice-mapper: ioctl: error adding target to table\n" +
			"device-mapper: reload ioctl on t2 (253:2) failed: Invalid argument\nCommand failed.\n"},
		{[]string{"create", "p2", "--table", "0 131072 thin-pool meta.img data.img 128 16"}, "device-mapper: table: 253:2: thin-pool: metadata device already in use by a pool (-EBUSY)\ndevice-mapper: ioctl: error adding target to table\n" +
			"device-mapper: reload ioctl on p2 (253:2) failed: Device or resource busy\nCommand failed.\n"},
		{[]string{"create", "p2", "--table", "0 131072 thin-pool meta.img data.img 100 16"}, "device-mapper: table: 253:2: thin-pool: Invalid block size (-EINVAL)\ndevice-mapper: ioctl: error adding target to table\n" +
			"device-mapper: reload ioctl on p2 (253:2) failed: Invalid argument\nCommand failed.\n"},
		{[]string{"create", "p2", "--table", "0 131072 thin-pool meta.img meta.img 128 16"}, "device-mapper: table: 253:2: thin-pool: Error setting metadata or data device (-EINVAL)\ndevice-mapper: ioctl: error adding target to table\n" +
			"device-mapper: reload ioctl on p2 (253:2) failed: Invalid argument\nCommand failed.\n"},
		{[]string{"create", "p2", "--table", "0 131072 thin-pool meta.img data.img 128 16 1 frob"}, "device-mapper: table: 253:2: thin-pool: Unrecognised pool feature requested (-EINVAL)\ndevice-mapper: ioctl: error adding target to table\n" +
			"device-mapper: reload ioctl on p2 (253:2) failed: Invalid argument\nCommand failed.\n"},
		{[]string{"create", "p2", "--table", "0 131072 thin-pool meta.img data.img 128 16 5 a b c d e"}, "device-mapper: table: 253:2: thin-pool: Invalid number of pool feature arguments (-EINVAL)\ndevice-mapper: ioctl: error adding target to table\n" +
			"device-mapper: reload ioctl on p2 (253:2) failed: Invalid argument\nCommand failed.\n"},
		{[]string{"reload", "pool", "--table", "0 131072 thin-pool meta.img data.img 128 16 1 ignore_discard"}, "device-mapper: table: 253:0: thin-pool: Discard support cannot be disabled once enabled (-EINVAL)\ndevice-mapper: ioctl: error adding target to table\n" +
			"device-mapper: reload ioctl on pool  failed: Invalid argument\nCommand failed.\n"},
		{[]string{"create", "z", "--table", "0 100 zero\n100 100 thin-pool meta.img data.img 128 16"}, "device-mapper: table: 253:2: thin-pool: singleton target type must appear alone in table (-EINVAL)\ndevice-mapper: ioctl: error adding target to table\n" +
			"device-mapper: reload ioctl on z (253:2) failed: Invalid argument\nCommand failed.\n"},
	}
	for _, c := range cases {
		s.expect(c.args, "", "", c.stderr, 1)
		if got := s.state(); got != state {
			t.Fatalf("%v changed the registry", c.args)
		}
		if got, _ := os.ReadFile(meta); !bytes.Equal(got, metaBytes) {
			t.Fatalf("%v changed the pool metadata", c.args)
		}
	}
}

// TestThinPoolOutOfSpaceAndGrowth: error_if_no_space fails a write at once
// when the pool is full; growing the pool by reload brings it back to write
// mode with the kernel's log lines and events.
func TestThinPoolOutOfSpaceAndGrowth(t *testing.T) {
	s := newSandbox(t)
	s.file("meta.img", 4<<20)
	data := s.file("data.img", 8<<20)
	s.ok("", "create", "pool", "--table", "0 8192 thin-pool meta.img data.img 128 2 1 error_if_no_space")
	s.ok("", "message", "pool", "0", "create_thin", "0")
	s.ok("", "create", "t", "--table", "0 65536 thin /dev/mapper/pool 0")
	s.expect(args("status pool"), "", "0 8192 thin-pool 0 112/1024 0/64 - rw discard_passdown error_if_no_space - 256 \n", "", 0)
	full := bytes.Repeat([]byte{1}, 62*65536)
	s.ok(string(full), "write", "t")
	r := s.run(string(bytes.Repeat([]byte{2}, 3*65536)), "write", "t", "--offset", "4194304")
	if r.code == 0 || !contains(r.stderr, "No space left on device") || !contains(r.stderr, "switching pool to out-of-data-space (error IO) mode") ||
		!contains(r.stderr, "reached low water mark for data device: sending event.") {
		t.Fatalf("write into a full pool: %+v", r)
	}
	st := s.ok("", "status", "pool")
	if !contains(st, " 64/64 - out_of_data_space discard_passdown error_if_no_space ") {
		t.Fatalf("status of a full pool: %q", st)
	}
	if err := os.Truncate(data, 16<<20); err != nil {
		t.Fatal(err)
	}
	s.ok("", "suspend", "pool")
	s.ok("", "reload", "pool", "--table", "0 16384 thin-pool meta.img data.img 128 2 1 error_if_no_space")
	r = s.run("", "resume", "pool")
	if r.code != 0 || r.stderr != "device-mapper: thin: 253:0: switching pool to write mode\ndevice-mapper: thin: 253:0: growing the data device from 64 to 128 blocks\n" {
		t.Fatalf("resume after growth: %+v", r)
	}
	st = s.ok("", "status", "pool")
	if !contains(st, " 64/128 - rw ") {
		t.Fatalf("status after growth: %q", st)
	}
	s.ok(string(bytes.Repeat([]byte{3}, 65536)), "write", "t", "--offset", "4194304")
}

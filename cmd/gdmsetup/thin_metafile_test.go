package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestThinToolsRefuseLiveMetadata: while `gdmsetup serve` has a pool live (built:
// a pool a server has not used yet is at rest on its files), the thin commands
// refuse its metadata file (EBUSY, the file untouched), as the 0.9.0 tools refuse
// a metadata device the kernel has claimed, except the dump and ls of the
// metadata snapshot; once the server stops, they run.
func TestThinToolsRefuseLiveMetadata(t *testing.T) {
	s := newSandbox(t)
	s.thinPool(16384)
	s.ok("", "message", "pool", "0", "reserve_metadata_snap")
	xml := s.ok("", "thin", "dump", "meta.img")
	writeFile(t, filepath.Join(s.dir, "pool.xml"), xml)
	s.file("other.img", 4<<20)
	before, err := os.ReadFile(filepath.Join(s.dir, "meta.img"))
	if err != nil {
		t.Fatal(err)
	}
	srv := s.serve()
	s.ok("", "status", "pool") // the server builds the pool: its files are open from now on
	for _, cmd := range []string{
		"thin dump meta.img",
		"thin dump --repair meta.img",
		"thin check meta.img",
		"thin restore -i pool.xml -o meta.img",
		"thin repair -i meta.img -o other.img",
		"thin delta --snap1 0 --snap2 0 meta.img",
		"thin ls meta.img",
		"thin rmap --region 0..10 meta.img",
		"thin trim --metadata-dev meta.img --data-dev data.img",
	} {
		r := s.run("", args(cmd)...)
		if r.code != 1 || !strings.Contains(r.stderr, "meta.img: in use by a device-mapper table or a thin tool") || !strings.Contains(r.stderr, "device or resource busy") {
			t.Errorf("gdmsetup %s with the pool live: exit %d, stderr %q", cmd, r.code, r.stderr)
		}
	}
	if got := s.ok("", "thin", "dump", "-m", "meta.img"); !strings.Contains(got, "<superblock") {
		t.Errorf("thin dump -m of the live pool:\n%s", got)
	}
	s.ok("", "thin", "ls", "-m", "meta.img")
	s.ok("", "thin", "check", "-m", "meta.img")
	srv.stop()
	after, err := os.ReadFile(filepath.Join(s.dir, "meta.img"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("the refused commands (or the idle server) changed the metadata")
	}
	if got := s.ok("", "thin", "dump", "meta.img"); got != xml {
		t.Errorf("thin dump after the server stopped:\n%s\nwant\n%s", got, xml)
	}
}

// TestTableRefusesClaimedFile: a file a thin tool holds (an exclusive claim) is
// busy for a table, as a device opened O_EXCL is for dm_get_device.
func TestTableRefusesClaimedFile(t *testing.T) {
	s := newSandbox(t)
	path := s.file("disk.img", 1<<20)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	s.expect([]string{"create", "lin", "--table", "0 8 linear disk.img 0"}, "", "",
		"device-mapper: table: 253:0: linear: Device lookup failed (-EBUSY)\n"+
			"device-mapper: ioctl: error adding target to table\n"+
			"device-mapper: reload ioctl on lin (253:0) failed: Device or resource busy\nCommand failed.\n", 1)
	s.expect([]string{"ls"}, "", "No devices found\n", "", 0)
	f.Close()
	s.ok("", "create", "lin", "--table", "0 8 linear disk.img 0")
}

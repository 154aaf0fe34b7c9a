package raid

import (
	"bytes"
	"errors"
	"syscall"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
)

// TestKernelReshapeShrink: a raid5_ls set of four members loses one as
// Linux 6.1 removes it (testdata/kernel-reshape-shrink.sh): the table
// with delta_disks -1 and data_offset 2048 (four members, the old length)
// shrinks the array at once and writes the kernel's superblocks and
// bitmaps (but for the events), the next load of the four members runs
// the reshape backwards to the kernel's members byte for byte and
// superblocks (the removed member's without a role), a later process
// rebuilding that live table keeps the member out, and the load of three
// members with the new length is the kernel's.
func TestKernelReshapeShrink(t *testing.T) {
	e := newEnv(t)
	fourMembers(e)
	m4, m3 := " 4 ma a mb b mc c md d", " 3 ma a mb b mc c"
	want := reshapePattern(12288 * sectorBytes)
	r := e.Create(12288, "raid5_ls 1 64"+m4)
	waitIdle(t, r)
	if err := r.WriteAt(want, 0); err != nil {
		t.Fatal(err)
	}
	e.Remove(r)
	want = want[:8192*sectorBytes]
	shrink := "raid5_ls 5 64 delta_disks -1 data_offset 2048" + m4
	r = e.Create(12288, shrink)
	const waitStatus, waitTable = "raid5_ls 3 aaaa 0/4096 reshape 0 0 -", "raid5_ls 5 64 delta_disks -1 data_offset 2048 4"
	statusAndTable(t, r, "reshape table", waitStatus, waitTable)
	got := make([]byte, len(want))
	if err := r.ReadAt(got, 0); err != nil || !bytes.Equal(got, want) {
		t.Errorf("the old geometry does not read back (%v)", err)
	}
	if err := r.ReadAt(make([]byte, 4096), 8192); err == nil {
		t.Error("a read past the shrunk array succeeded")
	}
	r = e.Restore(r, 12288, shrink)
	statusAndTable(t, r, "reshape table in a later process", waitStatus, waitTable)
	e.Remove(r)
	for _, n := range []string{"a", "b", "c", "d"} {
		theirs := dmtest.GunzipBytes(t, "testdata/kernel-reshape-shrink-wm"+n+".img.gz")[:8192]
		sameButEvents(t, "m"+n, theirs, dmtest.FileBytes(t, e.Path("m"+n), 0, 8192))
	}

	plain4 := "raid5_ls 1 64" + m4
	r = e.Create(12288, plain4)
	waitIdle(t, r)
	const doneStatus = "raid5_ls 3 AAAa 4096/4096 idle 0 2048 -"
	statusAndTable(t, r, "reshaped", doneStatus, "raid5_ls 1 64 4")
	checkReshaped(t, r, want)
	r = e.Restore(r, 12288, plain4)
	statusAndTable(t, r, "reshaped, in a later process", doneStatus, "raid5_ls 1 64 4")
	checkReshaped(t, r, want)
	e.Remove(r)
	done := superblock{compat: featureV190, numDevices: 3, recoveryOffset: maxSector, resyncOffset: maxSector,
		level: 5, layout: algLeftSymmetric, stripeSectors: 64, reshapePosition: maxSector, newLevel: 5,
		newLayout: algLeftSymmetric, newStripeSectors: 64, arraySectors: 8192, dataOffset: 2048, newDataOffset: 2048, sectors: 2048}
	wantSB(t, e, "reshaped", done)
	removed := done
	removed.position, removed.recoveryOffset = ^uint32(0), 0
	mdSB := sbOf(t, e, "md")
	mdSB.events = 0
	if mdSB != removed {
		t.Errorf("reshaped: md: superblock %+v, want %+v", mdSB, removed)
	}
	sameHashes(t, e, "", map[string]string{
		"a": "ad889304cecba83386fe61a7e7fa85a1bd59d80d11193ff6b30c3b6133fe3cd8",
		"b": "a346c52474d155259800f382c83271cac9c0a62e61d8d6054a4c0f5c32b207ae",
		"c": "6a86a990626639014a97b2c41bafaea03c31dac57d359d0d27a5c80e331da5d6",
		"d": "1389916092d13a2d847266848b2349f8d7dc40324d1bc3656f103f8ef806e141"})

	r = e.Create(8192, "raid5_ls 1 64"+m3)
	waitIdle(t, r)
	statusAndTable(t, r, "three members", "raid5_ls 3 AAA 4096/4096 idle 0 2048 -", "raid5_ls 1 64 3")
	checkReshaped(t, r, want)
	e.Remove(r)
	done.sectors = 4096
	wantSB(t, e, "three members", done)
}

// TestReshapeShrinkRefusals: members removed where Linux 6.1 refuses
// them (testdata/kernel-reshape-shrink.sh) or runs the set unchanged, and
// what gdmsetup does not carry out.
func TestReshapeShrinkRefusals(t *testing.T) {
	e := newEnv(t)
	fourMembers(e)
	e.Sparse("j", 8<<20)
	m4 := " 4 ma a mb b mc c md d"
	r := e.Create(12288, "raid5_ls 2 64 nosync"+m4)
	e.Remove(r)
	for _, c := range []struct {
		lenSectors   uint64
		table, error string
		errno        syscall.Errno
	}{
		{8192, "raid5_ls 5 64 delta_disks -1 data_offset 2048" + m4, "Target length not divisible by number of data devices", syscall.EINVAL},
		{24576, "raid5_ls 5 64 delta_disks -1 data_offset 2048" + m4, "No space for backward reshape", syscall.ENOSPC},
		{12288, "raid5_ls 5 64 delta_disks -1 data_offset 2048 4 ma a mb b - - md d", "Can't reshape degraded raid set", syscall.EPERM},
		{12288, "raid5_ls 5 64 delta_disks -3 data_offset 2048" + m4, "1 members left of 4, the level keeps at least 2: pers->check_reshape() failed", syscall.EINVAL},
		{12288, "raid5_ls 7 64 delta_disks -1 data_offset 2048 journal_dev j" + m4, "Can't reshape a journaled raid4/5/6 set", syscall.EPERM},
	} {
		_, err := e.Build(c.lenSectors, c.table)
		e.TakeLog()
		var ce *targets.CtrError
		if !errors.As(err, &ce) || ce.Msg != c.error || ce.Errno != c.errno {
			t.Errorf("%q: %v, want %q (%v)", c.table, err, c.error, c.errno)
		}
	}
	// without data_offset md runs the set unchanged
	r = e.Create(12288, "raid5_ls 3 64 delta_disks -1"+m4)
	if s, w := r.Status(), "raid5_ls 4 AAAA 4096/4096 idle 0 0 -"; s != w {
		t.Errorf("without data_offset: status %q, want %q", s, w)
	}
	checkArray(t, r, make([]byte, 12288*sectorBytes))
	e.Remove(r)
	// a shorter table shrinks the members' used sectors too
	r = e.Create(9216, "raid5_ls 5 64 delta_disks -1 data_offset 2048"+m4)
	if s, w := r.Status(), "raid5_ls 3 aaaa 0/3072 reshape 0 0 -"; s != w {
		t.Errorf("shorter table: status %q, want %q", s, w)
	}
	e.Remove(r)
	sb := sbOf(t, e, "ma")
	if sb.reshapePosition != 6144 || sb.arraySectors != 6144 || sb.sectors != 3072 {
		t.Errorf("shorter table: superblock %+v, want position and array 6144, sectors 3072", sb)
	}
}

// TestKernelReshapeShrinkRaid4: a raid4 member removed the same way
// (testdata/kernel-reshape-shrink.sh): status lines and members byte
// for byte Linux 6.1's.
func TestKernelReshapeShrinkRaid4(t *testing.T) {
	e := newEnv(t)
	fourMembers(e)
	m4 := " 4 ma a mb b mc c md d"
	want := reshapePattern(12288 * sectorBytes)
	r := e.Create(12288, "raid4 1 64"+m4)
	waitIdle(t, r)
	if err := r.WriteAt(want, 0); err != nil {
		t.Fatal(err)
	}
	e.Remove(r)
	r = e.Create(12288, "raid4 5 64 delta_disks -1 data_offset 2048"+m4)
	if s, w := r.Status(), "raid4 3 aaaa 0/4096 reshape 0 0 -"; s != w {
		t.Errorf("reshape table: status %q, want %q", s, w)
	}
	e.Remove(r)
	r = e.Create(12288, "raid4 1 64"+m4)
	waitIdle(t, r)
	if s, w := r.Status(), "raid4 3 AAAa 4096/4096 idle 0 2048 -"; s != w {
		t.Errorf("reshaped: status %q, want %q", s, w)
	}
	checkReshaped(t, r, want[:8192*sectorBytes])
	e.Remove(r)
	sameHashes(t, e, "", map[string]string{
		"a": "f6532f283ca1e3e9b1c04f2eaf42343687494f9bdfa322148bc5bce65d46ce6f",
		"b": "9caa1558496d8c977d15a60198cd127de03df656070ca19fa1bdc399730fc727",
		"c": "5e2a0ac4d02ff491a2077d680a6228428110be21d5c772d7ab24681f60c4eb12",
		"d": "8783aeb49ee17a0ec6e8bbf5c886466add90c01ee1c20b0e2c9f5073c30963db"})
}

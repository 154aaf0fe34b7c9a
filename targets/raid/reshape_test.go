package raid

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
)

// reshapeEnv is newEnv with the set table (on members la, lb, ...)
// written with random bytes, its data then offSectors into members a, b,
// ... (as LVM leaves them once it has moved the free space to the
// members' start); the array's bytes are returned.
func reshapeEnv(t *testing.T, table string, lenSectors, offSectors uint64) (*env, []byte) {
	return reshapeEnvWith(t, table, dmtest.Random(int(lenSectors)*sectorBytes), offSectors)
}

// reshapeEnvWith is reshapeEnv writing want.
func reshapeEnvWith(t *testing.T, table string, want []byte, offSectors uint64) (*env, []byte) {
	lenSectors := uint64(len(want)) / sectorBytes
	e := newEnv(t)
	var old []string
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		if bytes.Contains([]byte(table), []byte(" l"+n)) {
			e.Sparse("l"+n, 4<<20-int64(offSectors)*sectorBytes)
			old = append(old, n)
		}
	}
	r := e.Create(lenSectors, table)
	waitIdle(t, r)
	if err := r.WriteAt(want, 0); err != nil {
		t.Fatal(err)
	}
	e.Remove(r)
	for _, n := range old {
		b, err := os.ReadFile(e.Path("l" + n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(e.Path(n), append(make([]byte, offSectors*sectorBytes), b...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return e, want
}

// sbOf is the superblock on metadata file name.
func sbOf(t *testing.T, e *env, name string) superblock {
	t.Helper()
	sb, ok := parseSuperblock(dmtest.FileBytes(t, e.Path(name), 0, sbBytes))
	if !ok {
		t.Fatalf("%s: no superblock", name)
	}
	return sb
}

// wantSB compares the reshape fields of every metadata file's superblock
// with Linux 6.1's (the oracle's run of raid-reshape.scn).
func wantSB(t *testing.T, e *env, when string, want superblock) {
	t.Helper()
	for i, n := range []string{"ma", "mb", "mc", "md", "me", "mf"}[:want.numDevices] {
		got := sbOf(t, e, n)
		want.position = uint32(i)
		got.events, got.failed = 0, [4]uint64{}
		if got != want {
			t.Errorf("%s: %s: superblock %+v, want %+v", when, n, got, want)
		}
	}
}

// TestReshapeAddMember: a raid5_ls set of three members gets a fourth as
// Linux 6.1 adds it (the oracle's raid-reshape.scn): the table with
// delta_disks and data_offset writes the superblocks with the reshape
// flag and waits, a later process rebuilding it still waits, the next
// load moves the data to the new geometry at offset 0; the superblocks
// at each stage are the kernel's (but for the events), the array's data
// stays, and the load after serves the grown array with its parity right.
func TestReshapeAddMember(t *testing.T) {
	e, want := reshapeEnv(t, "raid5_ls 1 64 3 ma la mb lb mc lc", 8192, 2048)
	grow := "raid5_ls 5 64 delta_disks 1 data_offset 2048 4 ma a mb b mc c md d"
	r := e.Create(12288, grow)
	reshaping := superblock{compat: featureV190, numDevices: 4, recoveryOffset: maxSector, resyncOffset: maxSector,
		level: 5, layout: algLeftSymmetric, stripeSectors: 64, flags: sbFlagReshape, reshapePosition: 0,
		newLevel: 5, newLayout: algLeftSymmetric, newStripeSectors: 64, deltaDisks: 1,
		arraySectors: 8192, dataOffset: 2048, sectors: 6144}
	wantSB(t, e, "reshape set up", reshaping)
	const waiting = "raid5_ls 4 aaaa 0/4096 reshape 0 2048 -"
	if s := r.Status(); s != waiting {
		t.Errorf("status %q, want %q", s, waiting)
	}
	if _, err := r.Message([]string{"check"}); err != syscall.EBUSY {
		t.Errorf("check while reshaping: %v, want EBUSY", err)
	}
	got := make([]byte, len(want))
	if err := r.ReadAt(got, 0); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the old geometry does not read back (%v)", err)
	}
	if err := r.ReadAt(make([]byte, 4096), 8192); err == nil {
		t.Error("a read past the array md serves succeeded")
	}
	r = e.Restore(r, 12288, grow)
	if s := r.Status(); s != waiting {
		t.Errorf("rebuilt in a later process: status %q, want %q", s, waiting)
	}
	e.Remove(r)

	plain := "raid5_ls 1 64 4 ma a mb b mc c md d"
	r = e.Create(12288, plain)
	waitIdle(t, r)
	if err := r.ReadAt(got, 0); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("after the reshape the array does not read back (%v)", err)
	}
	e.Remove(r)
	done := reshaping
	done.flags, done.reshapePosition, done.deltaDisks, done.dataOffset, done.sectors = 0, maxSector, 0, 0, 8192
	wantSB(t, e, "reshape done", done)

	r = e.Create(12288, plain)
	if s, w := r.Status(), "raid5_ls 4 AAAA 4096/4096 idle 0 0 -"; s != w {
		t.Errorf("next load: status %q, want %q", s, w)
	}
	checkArray(t, r, append(want, make([]byte, 4096*sectorBytes)...))
	e.Remove(r)
	grown := done
	grown.arraySectors, grown.sectors = 12288, 4096
	wantSB(t, e, "next load", grown)
}

// reshapeStep moves the reshape's next step as runReshape does and, with
// commit, advances the position and writes the superblocks (without: a
// crash after the step's writes).
func reshapeStep(t *testing.T, r *Raid, commit bool) {
	t.Helper()
	rs := r.rs
	unitArray := r.unitArraySectors()
	units, done := r.reshapeEnd()/unitArray, r.reshapeDone()/unitArray
	n := min(r.reshapeUnitsPerStep(), units-done)
	first, pos := done, (done+n)*unitArray
	if rs.backwards {
		first = units - done - n
		pos = first * unitArray
	}
	r.ioMu.Lock()
	defer r.ioMu.Unlock()
	if err := r.moveStep(first, n); err != nil {
		t.Fatal(err)
	}
	if commit {
		rs.posSectors = pos
		r.writeSuperblocks()
	}
}

// checkReshaped checks the array reads want and a check finds no
// mismatch (whatever the members' data offset).
func checkReshaped(t *testing.T, r *Raid, want []byte) {
	t.Helper()
	got := make([]byte, len(want))
	if err := r.ReadAt(got, 0); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the array does not read back (%v)", err)
	}
	if _, err := r.Message([]string{"check"}); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, r)
	if f := strings.Fields(r.Status()); f[4] != "idle" || f[5] != "0" {
		t.Errorf("check: %s", r.Status())
	}
}

// finishReshape lets the reshape running in r end, loads the set again
// with the table plain of lenSectors and checks it reads want (past the
// array md served: what the old geometry held there, for raid10 the
// members' old bytes).
func finishReshape(t *testing.T, e *env, r *Raid, lenSectors uint64, plain string, want []byte) {
	t.Helper()
	waitIdle(t, r)
	e.Remove(r)
	r = e.Create(lenSectors, plain)
	checkReshaped(t, r, want)
	e.Remove(r)
}

// reshapeCase is a set (old, oldLen sectors of data at offset off), the
// table asking for its reshape (grow, newLen sectors) and the plain table
// that runs it; keep is the array's sectors left when it shrinks (0: all).
type reshapeCase struct {
	name, old, grow, plain    string
	oldLen, newLen, off, keep uint64
}

// reshapeCases are a forward reshape adding a member, backward ones
// changing the layout and chunk size or removing a member (the array
// keeps its first keep sectors), each with a small data offset (many
// steps).
var reshapeCases = []reshapeCase{
	{"raid5-remove", "raid5_ls 1 64 4 ma la mb lb mc lc md ld", "raid5_ls 5 64 delta_disks -1 data_offset 256 4 ma a mb b mc c md d",
		"raid5_ls 1 64 4 ma a mb b mc c md d", 12288, 12288, 0, 8192},
	{"raid6-remove", "raid6_zr 1 32 5 ma la mb lb mc lc md ld me le", "raid6_zr 5 32 delta_disks -1 data_offset 128 5 ma a mb b mc c md d me e",
		"raid6_zr 1 32 5 ma a mb b mc c md d me e", 12288, 12288, 0, 8192},
	{"raid6-add", "raid6_ls_6 1 64 4 ma la mb lb mc lc md ld", "raid6_ls_6 5 64 delta_disks 1 data_offset 128 5 ma a mb b mc c md d me e",
		"raid6_ls_6 1 64 5 ma a mb b mc c md d me e", 8192, 12288, 128, 0},
	{"raid5-layout-backwards", "raid5_ls 1 64 4 ma la mb lb mc lc md ld", "raid5_la 3 32 data_offset 256 4 ma a mb b mc c md d",
		"raid5_la 1 32 4 ma a mb b mc c md d", 12288, 12288, 0, 0},
	{"raid10-add", "raid10 3 64 raid10_copies 2 4 ma la mb lb mc lc md ld",
		"raid10 7 64 raid10_copies 2 delta_disks 2 data_offset 256 6 ma a mb b mc c md d me e mf f",
		"raid10 3 64 raid10_copies 2 6 ma a mb b mc c md d me e mf f", 8192, 12288, 256, 0},
}

// startReshape builds case c's set (its data the returned want, cut to
// c.keep sectors when the reshape leaves fewer), loads the table asking
// for the reshape, then the plain table that runs it (not yet resumed).
func startReshape(t *testing.T, c reshapeCase) (*env, *Raid, []byte) {
	e, want := reshapeEnv(t, c.old, c.oldLen, c.off)
	if c.keep != 0 {
		want = want[:c.keep*sectorBytes]
	}
	e.Remove(e.Create(c.newLen, c.grow))
	return e, e.MustConstruct(e.LoadContext(c.newLen), c.plain), want
}

// TestReshapeWhileWriting: writes while a reshape is half done (the
// position mid-way) land in the geometry the position gives them, units
// on either side of it; the reshape goes on to the end and the array
// holds every write, its parity right.
func TestReshapeWhileWriting(t *testing.T) {
	for _, c := range reshapeCases {
		t.Run(c.name, func(t *testing.T) {
			e, r, want := startReshape(t, c)
			for range 5 {
				reshapeStep(t, r, true)
			}
			pos := r.rs.posSectors
			buf := make([]byte, 12*sectorBytes)
			for i := range 300 {
				arraySectors := uint64(len(want)) / sectorBytes
				sector := uint64(i*97) % (arraySectors - 12)
				if i%3 == 0 {
					sector = (pos + uint64(i*13)%600 - 300) % (arraySectors - 12) // around the position
				}
				copy(buf, dmtest.Random(len(buf)))
				if err := r.WriteAt(buf, sector); err != nil {
					t.Fatalf("write %d at %d: %v", i, sector, err)
				}
				copy(want[sector*sectorBytes:], buf)
			}
			got := make([]byte, len(want))
			if err := r.ReadAt(got, 0); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("reads mid-reshape differ from the writes (%v)", err)
			}
			e.Resume(r)
			finishReshape(t, e, r, c.newLen, c.plain, want)
		})
	}
}

// TestReshapeCrash: a step's units written to the new place, the process
// gone before the superblocks say so (a crash), the next load moves the
// step again from the old place, which the step did not write over:
// nothing is lost, forwards and backwards.
func TestReshapeCrash(t *testing.T) {
	for _, c := range reshapeCases {
		t.Run(c.name, func(t *testing.T) {
			e, r, want := startReshape(t, c)
			reshapeStep(t, r, true)
			reshapeStep(t, r, true)
			pos := r.rs.posSectors
			reshapeStep(t, r, false)
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if p := sbOf(t, e, "ma").reshapePosition; p != pos {
				t.Fatalf("reshape position %d after the crash, want %d", p, pos)
			}
			finishReshape(t, e, e.Create(c.newLen, c.plain), c.newLen, c.plain, want)
		})
	}
}

// TestReshapeRefusals: what Linux 6.1 refuses (the oracle's
// raid-reshape.scn) and what gdmsetup does not carry out.
func TestReshapeRefusals(t *testing.T) {
	e, _ := reshapeEnv(t, "raid5_ls 1 64 3 ma la mb lb mc lc", 8192, 2048)
	e.Sparse("s", 4100*sectorBytes)
	for _, c := range []struct {
		table, error string
		errno        syscall.Errno
	}{
		{"raid5_ls 5 64 delta_disks 1 data_offset 2048 4 ma s mb b mc c md d", "No space for forward reshape", syscall.ENOSPC},
		{"raid5_ls 5 64 delta_disks 1 data_offset 2048 4 ma a - - mc c md d", "Can't reshape degraded raid set", syscall.EPERM},
		{"raid5_ls 3 64 delta_disks 1 4 ma a mb b mc c md d", "Reshape not supported", syscall.EPERM},
		{"raid5_ls 5 64 delta_disks 1 data_offset 32 4 ma a mb b mc c md d", "data offsets 32 and 0 less than 64 sectors apart: reshape not supported", syscall.EPERM},
		{"raid5_ls 5 64 delta_disks -2 data_offset 2048 3 ma a mb b mc c", "1 members left of 3, the level keeps at least 2: pers->check_reshape() failed", syscall.EINVAL},
	} {
		_, err := e.Build(12288, c.table)
		e.TakeLog()
		var ce *targets.CtrError
		if !errors.As(err, &ce) || ce.Msg != c.error || ce.Errno != c.errno {
			t.Errorf("%q: %v, want %q (%v)", c.table, err, c.error, c.errno)
		}
	}
	r := e.Create(12288, "raid5_ls 5 64 delta_disks 1 data_offset 2048 4 ma a mb b mc c md d")
	e.Remove(r)
	_, err := e.Build(12288, "raid5_ls 5 64 delta_disks 1 data_offset 2048 4 ma a mb b mc c md d")
	var ce *targets.CtrError
	if !errors.As(err, &ce) || ce.Msg != "Unable to assemble array: Invalid superblocks" {
		t.Errorf("delta_disks again while reshaping: %v", err)
	}
	if log := strings.Join(e.TakeLog(), "\n"); !strings.Contains(log, "Reshape requested but raid set is still reshaping") {
		t.Errorf("log %q", log)
	}
}

// kernelReshapeMembers are the sha256 of the data members Linux 6.1 left
// at the end of testdata/kernel-reshape.sh's reshape (4 MiB each).
var kernelReshapeMembers = map[string]string{
	"a": "68c4b04eb79013e54fde2b53f72d16e810472f4cc4dac5ac4aba9b024af7dcdd",
	"b": "76dc1887a342e8f2f7b629c81bd1533c3f14b8ee1d5c981dca3ca4b61646f193",
	"c": "1eead8755a40baad8bb382f10d028fb2725d43cefe9e74e1aa9ceb7a1f9276b1",
	"d": "a131f83584432e3631a879e283675e70ff8ba19a9c472965260bc69854d6fbc5",
}

// fourMembers makes the data files a-d (4 MiB) and metadata files ma-md (1 MiB) of a
// four-member set.
func fourMembers(e *env) {
	for _, n := range []string{"a", "b", "c", "d"} {
		e.Sparse(n, 4<<20)
		e.Sparse("m"+n, 1<<20)
	}
}

// statusAndTable checks r's status line and the start of its table line (the members after
// table's fields are not compared).
func statusAndTable(t *testing.T, r *Raid, when, status, table string) {
	t.Helper()
	if s := r.Status(); s != status {
		t.Errorf("%s: status %q, want %q", when, s, status)
	}
	if got := strings.Join(strings.Fields(r.Table())[:len(strings.Fields(table))], " "); got != table {
		t.Errorf("%s: table %q, want %q", when, got, table)
	}
}

// reshapePattern is what testdata/kernel-reshape*.sh write: the first n
// bytes of `seq 1 N`.
func reshapePattern(n int) []byte {
	var b bytes.Buffer
	for i := 1; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%d\n", i)
	}
	return b.Bytes()[:n]
}

// sameMembers checks the data members prefix+"a".."d" hash as the
// kernel's did at the end of its reshape.
func sameMembers(t *testing.T, e *env, prefix string) {
	t.Helper()
	sameHashes(t, e, prefix, kernelReshapeMembers)
}

// sameHashes checks the sha256 of each data member prefix+name against
// the kernel's.
func sameHashes(t *testing.T, e *env, prefix string, members map[string]string) {
	t.Helper()
	for n, want := range members {
		sum := sha256.Sum256(dmtest.FileBytes(t, e.Path(prefix+n), 0, 4<<20))
		if got := hex.EncodeToString(sum[:]); got != want {
			t.Errorf("member %s%s differs from the kernel's", prefix, n)
		}
	}
}

// sameMetadata checks the metadata files prefix+"ma".."md" against the
// kernel's testdata/kernel-reshape-<kernel>*.img.gz but for the events.
func sameMetadata(t *testing.T, e *env, prefix, kernel string) {
	t.Helper()
	for _, n := range []string{"a", "b", "c", "d"} {
		theirs := dmtest.GunzipBytes(t, "testdata/kernel-reshape-"+kernel+n+".img.gz")[:8192]
		sameButEvents(t, prefix+"m"+n, theirs, dmtest.FileBytes(t, e.Path(prefix+"m"+n), 0, 8192))
	}
}

// sameButEvents checks that gdmsetup's metadata mine (the superblock and
// the bitmap's, 8 KiB) is the kernel's theirs but for the event counts.
func sameButEvents(t *testing.T, name string, theirs, mine []byte) {
	t.Helper()
	for _, events := range [][2]int{{16, 24}, {4096 + 24, 4096 + 40}} {
		clear(theirs[events[0]:events[1]])
		clear(mine[events[0]:events[1]])
	}
	if d := firstDiff(theirs, mine); d >= 0 {
		t.Errorf("%s: metadata differs from the kernel's at byte %d", name, d)
	}
}

// TestKernelReshape: both ways with Linux 6.1 (testdata/kernel-reshape.sh).
// gdmsetup adding a fourth member to a raid5_ls set writes the kernel's
// superblocks and bitmap while the reshape waits and at its end (but for
// the events), and leaves the members byte for byte as the kernel left
// its own; gdmsetup goes on with the reshape the kernel set up (its
// superblocks) to the same members, the data read back.
func TestKernelReshape(t *testing.T) {
	e, want := reshapeEnvWith(t, "raid5_ls 1 64 3 ma la mb lb mc lc", reshapePattern(4<<20), 2048)
	for _, n := range []string{"a", "b", "c"} {
		b, err := os.ReadFile(e.Path(n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(e.Path("k"+n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e.Sparse("kd", 4<<20)
	r := e.Create(12288, "raid5_ls 5 64 delta_disks 1 data_offset 2048 4 ma a mb b mc c md d")
	e.Remove(r)
	sameMetadata(t, e, "", "wm")
	r = e.Create(12288, "raid5_ls 1 64 4 ma a mb b mc c md d")
	waitIdle(t, r)
	if s, w := r.Status(), "raid5_ls 4 AAAA 4096/4096 idle 0 0 -"; s != w {
		t.Errorf("status %q, want %q", s, w)
	}
	e.Remove(r)
	sameMetadata(t, e, "", "m")
	sameMembers(t, e, "")

	for _, n := range []string{"a", "b", "c", "d"} {
		dmtest.Gunzip(t, "testdata/kernel-reshape-wm"+n+".img.gz", e.Path("km"+n))
	}
	r = e.Create(12288, "raid5_ls 1 64 4 kma ka kmb kb kmc kc kmd kd")
	waitIdle(t, r)
	got := make([]byte, len(want))
	if err := r.ReadAt(got, 0); err != nil || !bytes.Equal(got, want) {
		t.Errorf("the kernel's set reshaped does not read back (%v)", err)
	}
	e.Remove(r)
	sameMembers(t, e, "k")
	sameMetadata(t, e, "k", "m")
}

// TestKernelReshapeLevels: members added to raid6_zr (four to five) and
// raid4 (three to four, chunk 32, the new member named by rebuild) leave
// every member byte for byte as Linux 6.1 left them
// (testdata/kernel-reshape-levels.sh: the sha256 below), the data read
// back.
func TestKernelReshapeLevels(t *testing.T) {
	for _, c := range []struct {
		old, grow, plain    string
		oldLen, newLen, off uint64
		members             map[string]string
	}{
		{"raid6_zr 1 64 4 ma la mb lb mc lc md ld", "raid6_zr 5 64 delta_disks 1 data_offset 1024 5 ma a mb b mc c md d me e",
			"raid6_zr 1 64 5 ma a mb b mc c md d me e", 12288, 18432, 1024, map[string]string{
				"a": "3bea21424d96c5acebbf156626332a07e00efcd78b037fb6611ffa19f6320038",
				"b": "374d00ec6589b938699eb9fb0ec6435121533f3439082f34c5330beb1294c800",
				"c": "bbddf1f356cef36dbee492e063665b79eef4f959c467e56aac210b5b8a0ac2d1",
				"d": "440e46656624e8ed6c14453565abdeb8236b05e66e5621c82c5b88f6be070916",
				"e": "4dba84b9969d1f701f2fb1a08be2457e035e9d34ebc4c599837d8b0ec26f9ad8"}},
		{"raid4 1 32 3 ma la mb lb mc lc", "raid4 7 32 rebuild 3 delta_disks 1 data_offset 512 4 ma a mb b mc c md d",
			"raid4 1 32 4 ma a mb b mc c md d", 14336, 21504, 512, map[string]string{
				"a": "454229ef691ef4fa0e0ac463f5f597fef0602569e7719b82eb240d264d7d1180",
				"b": "524534f06c0fc9c1c3286ccdca58ab0d13da9939a9f9f9e1cc79e12cbcd292a3",
				"c": "4157974d53819ad8591ed9c71f7f2fed2dee9e9b5ce02df960885bef864cd882",
				"d": "f9e825e0ab5d8b401e05b935d0bd09d8bc7e6292b53cba2b198a04e1dac48ee5"}},
	} {
		t.Run(c.old[:5], func(t *testing.T) {
			e, want := reshapeEnvWith(t, c.old, reshapePattern(int(c.oldLen)*sectorBytes), c.off)
			r := e.Create(c.newLen, c.grow)
			e.Remove(r)
			r = e.Create(c.newLen, c.plain)
			waitIdle(t, r)
			got := make([]byte, len(want))
			if err := r.ReadAt(got, 0); err != nil || !bytes.Equal(got, want) {
				t.Errorf("the data does not read back (%v)", err)
			}
			e.Remove(r)
			sameHashes(t, e, "", c.members)
		})
	}
}

// TestKernelReshapeLayout: layout and chunk size reshapes on the same
// members as Linux 6.1 does them (testdata/kernel-reshape-layout.sh):
// raid5_ls to raid5_ra with the data at offset 0 (backwards, to 2048),
// raid5_ra to raid5_ls with chunk 128 (forwards, back to 0), raid6_zr to
// raid6_nc with chunk 32 (backwards). The waiting table's status, table
// line and superblock, the reshaped set's, the members byte for byte and
// the load after are the kernel's (but for the events and device names).
func TestKernelReshapeLayout(t *testing.T) {
	e := newEnv(t)
	pattern := reshapePattern(4 << 20)
	m3, m4 := " 3 ma a mb b mc c", " 4 ma a mb b mc c md d"
	sb := func(devs, level, layout, chunk, flags uint32, pos uint64, newLayout, newChunk uint32, off, newOff, sectors uint64) superblock {
		return superblock{compat: featureV190, numDevices: devs, recoveryOffset: maxSector, resyncOffset: maxSector,
			level: level, layout: layout, stripeSectors: chunk, flags: flags, reshapePosition: pos, newLevel: level,
			newLayout: newLayout, newStripeSectors: newChunk, arraySectors: 8192, dataOffset: off, newDataOffset: newOff, sectors: sectors}
	}
	for _, c := range []struct {
		name, create, grow, plain                    string
		waitStatus, waitTable, doneStatus, doneTable string
		waiting, done                                superblock
		members                                      map[string]string
	}{
		{"raid5_ls-raid5_ra", "raid5_ls 1 64" + m3, "raid5_ra 3 64 data_offset 2048" + m3, "raid5_ra 1 64" + m3,
			"raid5_ra 3 aaa 0/4096 reshape 0 0 -", "raid5_ra 3 64 data_offset 2048 3",
			"raid5_ra 3 AAA 4096/4096 idle 0 2048 -", "raid5_ls 1 64 3",
			sb(3, 5, algLeftSymmetric, 64, 3, 8192, algRightAsymmetric, 64, 0, 2048, 4096),
			sb(3, 5, algRightAsymmetric, 64, 0, maxSector, algRightAsymmetric, 64, 2048, 2048, 2048),
			map[string]string{
				"a": "ca786ae88b7b41fb22bb624abf52aeef4627cb65b7c9cb8d792c4dd096bcaadb",
				"b": "d7fc54cb5a84872115546ff45409657fff578f7dadd64b229bb9eed4ed204460",
				"c": "e478df67f694d672446cc83fb4e27a50e111522c4b314e8eea588a2d6f135545"}},
		{"raid5_ra-raid5_ls-128", "", "raid5_ls 3 128 data_offset 2048" + m3, "raid5_ls 1 128" + m3,
			"raid5_ls 3 aaa 0/4096 reshape 0 2048 -", "raid5_ls 3 128 data_offset 2048 3",
			"raid5_ls 3 AAA 4096/4096 idle 0 0 -", "raid5_ra 1 128 3",
			sb(3, 5, algRightAsymmetric, 64, 1, 0, algLeftSymmetric, 128, 2048, 0, 6144),
			sb(3, 5, algLeftSymmetric, 128, 0, maxSector, algLeftSymmetric, 128, 0, 0, 8192),
			map[string]string{
				"a": "57535d9316bab697dace6cbc1dc2329d5bdeafa8354eb8e99118ebe110b0c810",
				"b": "eaa04ae1ad652c4c1fcf3e97fff9a2e6342030b8654c728122bc644e2af0f2b5",
				"c": "d85c9dc8348a50b289bfe005e8712b52b51a7319193a7f8eb8c741439c2a0c7f"}},
		{"raid6_zr-raid6_nc-32", "raid6_zr 1 64" + m4, "raid6_nc 3 32 data_offset 2048" + m4, "raid6_nc 1 32" + m4,
			"raid6_nc 4 aaaa 0/4096 reshape 0 0 -", "raid6_nc 3 32 data_offset 2048 4",
			"raid6_nc 4 AAAA 4096/4096 idle 0 2048 -", "raid6_zr 1 32 4",
			sb(4, 6, algRotZeroRestart, 64, 3, 8192, algRotNContinue, 32, 0, 2048, 4096),
			sb(4, 6, algRotNContinue, 32, 0, maxSector, algRotNContinue, 32, 2048, 2048, 2048),
			map[string]string{
				"a": "9ee95580e6fe100b7ee562c65adcbae9720388dd53965c587050ec0e359f27b8",
				"b": "034e634d0a2554351be06df867df9f9f5ef393b1a74f53e532a6041cced01fb6",
				"c": "6a24ec1700354e42342c7bd3c4f31c1e44cdd533f6dadc58692780e3c6192f01",
				"d": "cc6ed29332a30b1739b9c4039133a54daf93b83b5e5f0de24f75267ac652ccfa"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.create != "" {
				fourMembers(e)
				r := e.Create(8192, c.create)
				waitIdle(t, r)
				if err := r.WriteAt(pattern, 0); err != nil {
					t.Fatal(err)
				}
				e.Remove(r)
			}
			r := e.Create(8192, c.grow)
			statusAndTable(t, r, "reshape table", c.waitStatus, c.waitTable)
			r = e.Restore(r, 8192, c.grow)
			waitIdle(t, r) // nothing to wait for: the reshape waits for the next load
			statusAndTable(t, r, "reshape table in a later process", c.waitStatus, c.waitTable)
			e.Remove(r)
			wantSB(t, e, "reshape table", c.waiting)
			r = e.Create(8192, c.plain)
			waitIdle(t, r)
			statusAndTable(t, r, "reshaped", c.doneStatus, c.doneTable)
			checkReshaped(t, r, pattern)
			e.Remove(r)
			c.done.events = 0
			wantSB(t, e, "reshaped", c.done)
			sameHashes(t, e, "", c.members)
			r = e.Create(8192, c.plain)
			statusAndTable(t, r, "next load", c.doneStatus, strings.Replace(c.doneTable, strings.Fields(c.doneTable)[0], strings.Fields(c.plain)[0], 1))
			e.Remove(r)
		})
	}
}

// TestReshapeNoSectorsLeft: a backward reshape whose new data offset is
// the members' used sectors leaves them none in the superblocks
// (md_finish_reshape), and the next load is refused as 6.1 refuses it
// (the oracle: raid5_ls to raid5_ra with data_offset 4096 on 4096-sector
// members).
func TestReshapeNoSectorsLeft(t *testing.T) {
	e := newEnv(t)
	r := e.Create(8192, "raid5_ls 1 64 3 ma a mb b mc c")
	waitIdle(t, r)
	e.Remove(r)
	r = e.Create(8192, "raid5_ra 3 64 data_offset 4096 3 ma a mb b mc c")
	e.Remove(r)
	r = e.Create(8192, "raid5_ra 1 64 3 ma a mb b mc c")
	waitIdle(t, r)
	if s, w := r.Status(), "raid5_ra 3 AAA 4096/4096 idle 0 4096 -"; s != w {
		t.Errorf("status %q, want %q", s, w)
	}
	e.Remove(r)
	if n := sbOf(t, e, "ma").sectors; n != 0 {
		t.Errorf("superblock sectors %d, want 0", n)
	}
	_, err := e.Build(8192, "raid5_ra 1 64 3 ma a mb b mc c")
	var ce *targets.CtrError
	if !errors.As(err, &ce) || ce.Msg != "Invalid rdev size" {
		t.Errorf("next load: %v, want Invalid rdev size", err)
	}
}

// TestKernelReshapeRaid10: a raid10 near set (two copies) on four members
// given two more as Linux 6.1 does it (the oracle: the data 1 MiB into
// the members, delta_disks 2, data_offset 2048): the waiting table's
// status and superblocks, the reshaped set's status and superblocks (the
// members' sectors back to the set's), the data read back and the
// members byte for byte the kernel's.
func TestKernelReshapeRaid10(t *testing.T) {
	e, want := reshapeEnvWith(t, "raid10 3 64 raid10_copies 2 4 ma la mb lb mc lc md ld", reshapePattern(4<<20), 2048)
	members := " 6 ma a mb b mc c md d me e mf f"
	r := e.Create(12288, "raid10 7 64 raid10_copies 2 delta_disks 2 data_offset 2048"+members)
	if s, w := r.Status(), "raid10 6 aaaaaa 0/8192 reshape 0 2048 -"; s != w {
		t.Errorf("reshape table: status %q, want %q", s, w)
	}
	e.Remove(r)
	sb := superblock{compat: featureV190, numDevices: 6, recoveryOffset: maxSector, resyncOffset: maxSector,
		level: 10, layout: 0x102, stripeSectors: 64, flags: sbFlagReshape, newLevel: 10, newLayout: 0x102,
		newStripeSectors: 64, deltaDisks: 2, arraySectors: 8192, dataOffset: 2048, sectors: 6144}
	wantSB(t, e, "reshape table", sb)
	r = e.Create(12288, "raid10 3 64 raid10_copies 2"+members)
	waitIdle(t, r)
	if s, w := r.Status(), "raid10 6 AAAAAA 8192/8192 idle 0 0 -"; s != w {
		t.Errorf("reshaped: status %q, want %q", s, w)
	}
	r = e.Restore(r, 12288, "raid10 3 64 raid10_copies 2"+members)
	if s, w := r.Status(), "raid10 6 AAAAAA 8192/8192 idle 0 0 -"; s != w {
		t.Errorf("reshaped, in a later process: status %q, want %q", s, w)
	}
	got := make([]byte, len(want))
	if err := r.ReadAt(got, 0); err != nil || !bytes.Equal(got, want) {
		t.Errorf("the data does not read back (%v)", err)
	}
	e.Remove(r)
	sb.flags, sb.reshapePosition, sb.deltaDisks, sb.dataOffset, sb.sectors = 0, maxSector, 0, 0, 4096
	wantSB(t, e, "reshaped", sb)
	sameHashes(t, e, "", map[string]string{
		"a": "efca6006ad959ee123510d317f2e694786196783af77aefe22c3b1a073ae710f",
		"b": "efca6006ad959ee123510d317f2e694786196783af77aefe22c3b1a073ae710f",
		"c": "e6c91dfc8d274108c959a10eea4b90ba26277261e30b2d3c9783016b2aa62158",
		"d": "e6c91dfc8d274108c959a10eea4b90ba26277261e30b2d3c9783016b2aa62158",
		"e": "ca812c6fb189c0651a6a4383bd4b549b1c2c92efbd6bb8a898a68465b5209f12",
		"f": "ca812c6fb189c0651a6a4383bd4b549b1c2c92efbd6bb8a898a68465b5209f12"})
}

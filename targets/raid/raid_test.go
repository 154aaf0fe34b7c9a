package raid

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
)

type env = dmtest.TargetEnv[*Raid]

func newEnv(t testing.TB) *env {
	e := dmtest.NewTargetEnv[*Raid](t, t.TempDir(), New)
	e.Args = e.FileArgs
	for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
		e.Sparse(n, 4<<20)
		e.Sparse("m"+n, 1<<20)
	}
	return e
}

// TestConstructorErrors: raid_ctr's reasons in its order (the kernel's
// lines, from the oracle's raid.scn capture).
func TestConstructorErrors(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		len          uint64
		table, error string
		errno        syscall.Errno
	}{
		{8192, "", "No arguments", 0},
		{8192, "raid7 1 0 2 - a - b", "Unrecognised raid_type", 0},
		{8192, "raid1 9 0 2 - a - b", "Cannot understand number of raid parameters", 0},
		{8192, "raid1 1 0 3 - a - b", "Cannot understand number of raid devices parameters", 0},
		{8192, "raid5_ls 1 64 1 - a", "Insufficient number of devices", 0},
		{8192, "raid0 1 -8 2 - a - b", "Chunk size must be a power of 2", 0},
		{8192, "raid0 1 4 2 - a - b", "Chunk size value is too small", 0},
		{8192, "raid1 3 0 sync nosync 2 - a - b", "sync and nosync are mutually exclusive", 0},
		{8192, "raid1 4 0 nosync rebuild 1 2 - a - b", "sync/nosync and rebuild are mutually exclusive", 0},
		{8192, "raid1 3 0 rebuild 1 2 - a - -", "Drive designated for rebuild not specified", 0},
		{8192, "raid1 5 0 write_mostly 0 write_mostly 1 2 - a - b", "Can't set all raid1 devices to write_mostly", 0},
		{8192, "raid1 3 0 region_size 1000 2 - a - b", "Region size is not a power of 2", 0},
		{16384, "raid5_ls 3 64 region_size 32 3 - a - b - c", "Region size is smaller than the chunk size", 0},
		{8192, "raid1 3 0 frob 1 2 - a - b", "Unable to parse RAID parameter", 0},
		{16384, "raid10 2 64 raid10_use_near_sets 4 - a - b - c - d", "RAID10 format 'near' and 'raid10_use_near_sets' are incompatible", 0},
		{16384, "raid5_ls 3 64 journal_dev ma 3 - a - b - c", "No space for raid4/5/6 journal", syscall.ENOSPC},
		{16384, "raid0 2 64 nosync 2 - a - b", "Invalid flags combination", 0},
		{16384, "raid6_zr 2 64 nosync 4 - a - b - c - d", "Invalid flags combination", 0},
		{8192, "raid1 1 0 2 ma - - b", "No data device supplied with metadata device", 0},
		{8192, "raid1 1 0 2 - nothere - b", "RAID device lookup failure", syscall.ENODEV},
		{16384, "raid1 1 0 2 - a - b", "Component device(s) too small", 0},
		{16383, "raid5_ls 1 64 3 - a - b - c", "Target length not divisible by number of data devices", 0},
		{16384, "raid5_ls 1 64 3 - a - - - -", "Failed to run raid array", syscall.EIO},
		{8192, "raid1 1 0 2 - - - -", "Invalid rdev size", 0},
		{16384, "raid10 1 16 4 - a - b - c - d", "Failed to run raid array", 0},
		{16384, "raid6_zr 1 16 4 ma a mb b mc c md d", "", 0},
	} {
		_, err := e.Build(c.len, c.table)
		e.TakeLog()
		if c.error == "" {
			if err != nil {
				t.Errorf("%q: %v", c.table, err)
			}
			continue
		}
		errno := c.errno
		if errno == 0 {
			errno = syscall.EINVAL
		}
		var ce *targets.CtrError
		if !errors.As(err, &ce) || ce.Msg != c.error || ce.Errno != errno {
			t.Errorf("%q: %v, want %q (%v)", c.table, err, c.error, errno)
		}
	}
}

// levels are tables of every layout over the env's files (raid10 needs
// metadata devices, as in the kernel).
var levels = []struct{ table string }{
	{"raid0 1 16 3 - a - b - c"},
	{"raid1 1 0 3 - a - b - c"},
	{"raid4 1 16 4 - a - b - c - d"},
	{"raid5_la 1 16 4 - a - b - c - d"},
	{"raid5_ra 1 16 4 - a - b - c - d"},
	{"raid5_ls 1 16 4 - a - b - c - d"},
	{"raid5_rs 1 16 4 - a - b - c - d"},
	{"raid5_n 1 16 4 - a - b - c - d"},
	{"raid6_zr 1 16 5 - a - b - c - d - e"},
	{"raid6_nr 1 16 5 - a - b - c - d - e"},
	{"raid6_nc 1 16 5 - a - b - c - d - e"},
	{"raid6_n_6 1 16 5 - a - b - c - d - e"},
	{"raid6_la_6 1 16 5 - a - b - c - d - e"},
	{"raid6_ra_6 1 16 5 - a - b - c - d - e"},
	{"raid6_ls_6 1 16 5 - a - b - c - d - e"},
	{"raid6_rs_6 1 16 5 - a - b - c - d - e"},
	{"raid10 2 16 nosync 4 ma a mb b mc c md d"},
	{"raid10 6 16 nosync raid10_format far raid10_copies 2 4 ma a mb b mc c md d"},
	{"raid10 4 16 nosync raid10_format offset 4 ma a mb b mc c md d"},
	{"raid10 4 16 nosync raid10_copies 3 3 ma a mb b mc c"},
}

// arrayLen is the table length that fills 4 MiB members.
func arrayLen(table string) uint64 {
	f := strings.Fields(table)
	var n, params int
	fmt.Sscan(f[1], &params)
	fmt.Sscan(f[2+params], &n)
	switch {
	case f[0] == "raid1":
		return 8192
	case strings.HasPrefix(f[0], "raid10"):
		copies := 2
		for i, w := range f {
			if w == "raid10_copies" {
				fmt.Sscan(f[i+1], &copies)
			}
		}
		return uint64(8192 * n / copies)
	case strings.HasPrefix(f[0], "raid6"):
		return uint64(8192 * (n - 2))
	case f[0] == "raid0":
		return uint64(8192 * n)
	}
	return uint64(8192 * (n - 1))
}

// TestLevelsAgainstModel: random writes of every size through each layout
// read back as written, the array whole and then degraded (one member
// '-', two for raid6: the data rebuilt from parity or copies); a check
// finds no mismatch.
func TestLevelsAgainstModel(t *testing.T) {
	for _, lv := range levels {
		t.Run(strings.Fields(lv.table)[0]+"/"+lv.table[strings.Index(lv.table, " "):], func(t *testing.T) {
			e := newEnv(t)
			lenSectors := arrayLen(lv.table)
			r := e.Create(lenSectors, lv.table)
			model := make([]byte, lenSectors*512)
			rng := rand.New(rand.NewPCG(7, uint64(len(lv.table))))
			for range 200 {
				n := (1 + rng.IntN(64)) * 512
				at := rng.IntN(len(model)-n) / 512 * 512
				p := dmtest.Random(n)
				if err := r.WriteAt(p, uint64(at/512)); err != nil {
					t.Fatal(err)
				}
				copy(model[at:], p)
			}
			got := make([]byte, len(model))
			if err := r.ReadAt(got, 0); err != nil || !bytes.Equal(got, model) {
				t.Fatalf("read back differs (%v)", err)
			}
			if r.rt.level != 0 {
				if _, err := r.Message([]string{"check"}); err != nil {
					t.Fatal(err)
				}
				r.mu.Lock()
				r.drainSync()
				r.mu.Unlock()
				if s := r.Status(); !strings.HasSuffix(s, " idle 0 0 -") {
					t.Errorf("after check: %q", s)
				}
			}
			e.Remove(r)
			lost := map[int]int{0: 0, 1: 1, 5: 1, 6: 2, 10: 1}[r.rt.level]
			if lost == 0 {
				return
			}
			f := strings.Fields(lv.table)
			devAt := 3 + atoi(f[1])
			for k := range lost {
				f[devAt+1+2*(2*k+1)] = "-"
				f[devAt+2*(2*k+1)] = "-"
			}
			degraded := strings.Join(f, " ")
			r = e.Create(lenSectors, degraded)
			clear(got)
			if err := r.ReadAt(got, 0); err != nil || !bytes.Equal(got, model) {
				t.Fatalf("%s: degraded read back differs (%v)", degraded, err)
			}
			p := dmtest.Random(8192)
			if err := r.WriteAt(p, 40); err != nil {
				t.Fatal(err)
			}
			copy(model[40*512:], p)
			if err := r.ReadAt(got, 0); err != nil || !bytes.Equal(got, model) {
				t.Fatalf("%s: degraded write read back differs (%v)", degraded, err)
			}
			e.Remove(r)
		})
	}
}

func atoi(s string) int {
	var v int
	fmt.Sscan(s, &v)
	return v
}

// TestKernelMetadata: the superblocks and bitmap the kernel wrote for a
// raid1 set (oracle, after its resync, a write and a remove) read as md
// reads them: the same table finds the array in sync, with nothing to
// resynchronise; what gdmsetup writes back keeps the kernel's fields.
func TestKernelMetadata(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"ma", "mb", "a", "b"} {
		dmtest.Gunzip(t, "testdata/kernel-raid1-"+n+".img.gz", e.Path("k"+n))
	}
	raw := dmtest.FileBytes(t, e.Path("kma"), 0, 512)
	sb, ok := parseSuperblock(raw)
	if !ok || sb.numDevices != 2 || sb.level != 1 || sb.resyncOffset != maxSector || sb.events != 17 || sb.sectors != 8192 {
		t.Fatalf("kernel superblock: %+v", sb)
	}
	bm, err := parseBitmapSuper(dmtest.FileBytes(t, e.Path("kma"), 4096, 256))
	if err != nil || bm.chunkBytes != 1024*512 || bm.events != 17 || bm.syncSectors != 8192 {
		t.Fatalf("kernel bitmap: %+v %v", bm, err)
	}
	r := e.Create(8192, "raid1 3 0 region_size 1024 2 kma ka kmb kb")
	if s := r.Status(); s != "raid1 2 AA 8192/8192 idle 0 0 -" {
		t.Errorf("status %q", s)
	}
	wantNoAction(t, r, "the kernel's clean array")
	e.Remove(r)
	mine, _ := parseSuperblock(dmtest.FileBytes(t, e.Path("kma"), 0, 512))
	if mine.events <= sb.events || mine.resyncOffset != maxSector || mine.level != 1 || mine.arraySectors != 8192 {
		t.Errorf("written back: %+v", mine)
	}
	page := dmtest.FileBytes(t, e.Path("kma"), 4096, 512)
	if binary.LittleEndian.Uint32(page) != bitmapMagic || page[256] != 0 || page[257] != 0xff {
		t.Errorf("bitmap written back: % x", page[:8])
	}
}

// TestResyncAndDirtyRegions: a new raid1 with metadata resyncs (leg b
// becomes a's copy) and raises its event; a crash with a region dirty in
// the bitmap has exactly that region resynchronised at the next start.
func TestResyncAndDirtyRegions(t *testing.T) {
	e := newEnv(t)
	a := dmtest.Random(4 << 20)
	os.WriteFile(e.Path("a"), a, 0o600)
	events := 0
	e.Adjust = func(ctx *targets.Context) { ctx.Event = func() { events++ } }
	r := e.Create(8192, "raid1 3 0 region_size 1024 2 ma a mb b")
	r.mu.Lock()
	r.drainSync()
	r.mu.Unlock()
	if s := r.Status(); s != "raid1 2 AA 8192/8192 idle 0 0 -" || events == 0 {
		t.Fatalf("status %q, events %d", s, events)
	}
	if !bytes.Equal(dmtest.FileBytes(t, e.Path("b"), 0, 4<<20), a) {
		t.Fatal("resync did not copy a to b")
	}
	p := dmtest.Random(4096)
	if err := r.WriteAt(p, 3000); err != nil {
		t.Fatal(err)
	}
	// the process dies here: the bitmap has region 2 dirty; b loses the write
	page := dmtest.FileBytes(t, e.Path("ma"), 4096+256, 1)
	if page[0] != 1<<2 {
		t.Fatalf("bitmap bits %08b, want region 2", page[0])
	}
	e.TakeLog()
	os.WriteFile(e.Path("b"), a, 0o600)
	r2 := e.Create(8192, "raid1 3 0 region_size 1024 2 ma a mb b")
	r2.mu.Lock()
	r2.drainSync()
	r2.mu.Unlock()
	got := dmtest.FileBytes(t, e.Path("b"), 0, 4<<20)
	want := append([]byte(nil), a...)
	copy(want[3000*512:], p)
	if !bytes.Equal(got, want) {
		t.Fatal("the dirty region was not resynchronised from a")
	}
	e.Remove(r2)
}

// TestMessages: raid_message's replies: raid0 takes none, an unknown word
// is EINVAL, frozen shows in the status until idle.
func TestMessages(t *testing.T) {
	e := newEnv(t)
	r0 := e.Create(24576, "raid0 1 16 3 - a - b - c")
	if _, err := r0.Message([]string{"idle"}); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("raid0 idle: %v", err)
	}
	r := e.Create(8192, "raid1 1 0 2 - a - b")
	for _, w := range []string{"reshape", "frob"} {
		if _, err := r.Message([]string{w}); !errors.Is(err, syscall.EINVAL) {
			t.Errorf("%s: %v", w, err)
		}
	}
	r.Message([]string{"frozen"})
	if s := r.Status(); !strings.Contains(s, " frozen ") {
		t.Errorf("frozen: %q", s)
	}
	r.Message([]string{"idle"})
	if s := r.Status(); s != "raid1 2 AA 8192/8192 idle 0 0 -" {
		t.Errorf("idle: %q", s)
	}
	if got := r.Table(); !strings.HasPrefix(got, "raid1 1 0 2 - ") {
		t.Errorf("table %q", got)
	}
}

// FuzzRaidTable: no table line makes the constructor panic.
func FuzzRaidTable(f *testing.F) {
	for _, lv := range levels {
		f.Add(lv.table)
	}
	f.Add("raid1 9 0 write_mostly 1 max_write_behind 256 daemon_sleep 1000 min_recovery_rate 10 2 - a - b")
	f.Fuzz(func(t *testing.T, table string) {
		e := newEnv(t)
		if r, err := e.Build(8192, table); err == nil {
			e.Resume(r)
			p := make([]byte, 4096)
			r.ReadAt(p, 0)
			r.WriteAt(p, 0)
			e.Remove(r)
		}
		e.TakeLog()
	})
}

// TestKernelFailedMember: a raid5 set the kernel left with member 1
// failed (its data device turned into an error table while the array was
// written: failed_devices bit 1 in the freshest superblock, member 1's
// own superblock stale, the bitmap's regions kept dirty). Loaded again
// with the member back, it is recovered from the others ('a', then 'A')
// and the array reads what the kernel read before its remove; a check
// then finds the parity right.
func TestKernelFailedMember(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"ma", "a", "mb", "b", "mc", "c"} {
		dmtest.Gunzip(t, "testdata/kernel-raid5-failed-"+n+".img.gz", e.Path("k"+n))
	}
	sb, _ := parseSuperblock(dmtest.FileBytes(t, e.Path("kma"), 0, 512))
	if !sb.failedBit(1) || sb.failedBit(0) || sb.events != 7 {
		t.Fatalf("kernel superblock: %+v", sb)
	}
	r := e.Create(4096, "raid5_ls 3 16 region_size 512 3 kma ka kmb kb kmc kc")
	waitIdle(t, r)
	if s := r.Status(); s != "raid5_ls 3 AAA 2048/2048 idle 0 0 -" {
		t.Errorf("after recovery: %q", s)
	}
	got := make([]byte, 2<<20)
	if err := r.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if sum := fmt.Sprintf("%x", sha256.Sum256(got)); sum != "d1c65cafba41b08bf5bc3b4dc9f0791be4ae7558bcdbc60ba5c38f60631ecbf6" {
		t.Errorf("array sha256 %s, not the kernel's", sum)
	}
	r.Message([]string{"check"})
	waitIdle(t, r)
	if s := r.Status(); s != "raid5_ls 3 AAA 2048/2048 idle 0 0 -" {
		t.Errorf("after check: %q", s)
	}
	e.Remove(r)
	mb, _ := parseSuperblock(dmtest.FileBytes(t, e.Path("kmb"), 0, 512))
	if mb.failed != [4]uint64{} || mb.recoveryOffset != maxSector || mb.events <= sb.events {
		t.Errorf("member 1's superblock after recovery: %+v", mb)
	}
}

// TestJournalEchoed: a journal device (4 MiB at least) is taken, shown in
// the status (A: writethrough, a: writeback) and echoed by the table.
func TestJournalEchoed(t *testing.T) {
	e := newEnv(t)
	e.Sparse("j", 4<<20)
	r := e.Create(16384, "raid5_ls 5 64 journal_dev j journal_mode writeback 3 - a - b - c")
	if s := r.Status(); s != "raid5_ls 3 AAA 8192/8192 idle 0 0 a" {
		t.Errorf("status %q", s)
	}
	if tb := r.Table(); tb != "raid5_ls 5 64 journal_dev "+e.Path("j")+" journal_mode writeback 3 - "+e.Path("a")+" - "+e.Path("b")+" - "+e.Path("c") {
		t.Errorf("table %q", tb)
	}
}

// failingDev is a member whose I/O fails once fail is set.
type failingDev struct {
	targets.Dev
	fail *bool
}

func (d failingDev) ReadAt(p []byte, off int64) (int, error) {
	if *d.fail {
		return 0, syscall.EIO
	}
	return d.Dev.ReadAt(p, off)
}

func (d failingDev) WriteAt(p []byte, off int64) (int, error) {
	if *d.fail {
		return 0, syscall.EIO
	}
	return d.Dev.WriteAt(p, off)
}

// TestFailingMembers: two members of a raid6 set start failing I/O under
// writes: they are marked D (an event each, the superblocks recording
// them), every write still succeeds and every read gives what was
// written, rebuilt from the three members left; the next load keeps them
// failed (failed_devices) until they come back and are recovered.
func TestFailingMembers(t *testing.T) {
	e := newEnv(t)
	fail := false
	events := 0
	e.Adjust = func(ctx *targets.Context) {
		open := ctx.Open
		ctx.Open = func(path string) (targets.Dev, error) {
			d, err := open(path)
			if err == nil && (path == e.Path("b") || path == e.Path("d")) {
				d = failingDev{d, &fail}
			}
			return d, err
		}
		ctx.Event = func() { events++ }
	}
	const table = "raid6_zr 2 16 nosync 5 ma a mb b mc c md d me e"
	r, err := e.Build(3*8192, table)
	if err == nil || !strings.Contains(err.Error(), "Invalid flags combination") {
		t.Fatalf("nosync on a new raid6: %v", err)
	}
	r = e.Create(3*8192, "raid6_zr 1 16 5 ma a mb b mc c md d me e")
	waitIdle(t, r)
	model := make([]byte, 3*8192*512)
	rng := rand.New(rand.NewPCG(3, 4))
	write := func(n int) {
		for range n {
			size := (1 + rng.IntN(32)) * 512
			at := rng.IntN(len(model)-size) / 512 * 512
			p := dmtest.Random(size)
			if err := r.WriteAt(p, uint64(at/512)); err != nil {
				t.Fatal(err)
			}
			copy(model[at:], p)
		}
	}
	write(100)
	events = 0
	fail = true
	write(100)
	if s := r.Status(); s != "raid6_zr 5 ADADA 8192/8192 idle 0 0 -" || events != 2 {
		t.Errorf("status %q, %d events", s, events)
	}
	got := make([]byte, len(model))
	if err := r.ReadAt(got, 0); err != nil || !bytes.Equal(got, model) {
		t.Fatalf("read back with two members failed: %v", err)
	}
	e.Remove(r)
	sb, _ := parseSuperblock(dmtest.FileBytes(t, e.Path("ma"), 0, 512))
	if sb.failed[0] != 0b01010 {
		t.Errorf("failed_devices %b", sb.failed[0])
	}
	// the writes made degraded keep the bitmap's events_cleared behind its
	// events, so that md recovers the members that come back from the bits
	// (with it caught up, the kernel's recovery skipped every region:
	// testdata/lvm/degraded2-gdm.sh)
	bm, err := parseBitmapSuper(dmtest.FileBytes(t, e.Path("ma"), bitmapOffsetBytes, bitmapSuperBytes))
	if err != nil || bm.events != sb.events || bm.eventsCleared >= bm.events {
		t.Errorf("bitmap after degraded writes: events %d, events_cleared %d (%v); superblock events %d", bm.events, bm.eventsCleared, err, sb.events)
	}
	fail = false
	// With a third member gone, the two that come back are to be recovered,
	// not in sync: md's raid6 has three members of five down and does not
	// start (as lvm2's raid6 in the kernel oracle, testdata/lvm/degraded2)
	if _, err := e.Build(3*8192, "raid6_zr 1 16 5 - - mb b mc c md d me e"); err == nil || !strings.Contains(err.Error(), "Failed to run raid array") {
		t.Errorf("raid6 with a member missing and two returning: %v", err)
	}
	r = e.Create(3*8192, "raid6_zr 1 16 5 ma a mb b mc c md d me e")
	waitIdle(t, r)
	if s := r.Status(); s != "raid6_zr 5 AAAAA 8192/8192 idle 0 0 -" {
		t.Errorf("after the members came back: %q", s)
	}
	if err := r.ReadAt(got, 0); err != nil || !bytes.Equal(got, model) {
		t.Fatalf("read back after recovery: %v", err)
	}
	r.Message([]string{"check"})
	waitIdle(t, r)
	if s := r.Status(); s != "raid6_zr 5 AAAAA 8192/8192 idle 0 0 -" {
		t.Errorf("check after recovery: %q", s)
	}
	e.Remove(r)
	sb, _ = parseSuperblock(dmtest.FileBytes(t, e.Path("ma"), 0, 512))
	if bm, _ := parseBitmapSuper(dmtest.FileBytes(t, e.Path("ma"), bitmapOffsetBytes, bitmapSuperBytes)); bm.eventsCleared != sb.events {
		t.Errorf("bitmap once recovered: events_cleared %d, events %d", bm.eventsCleared, sb.events)
	}
}

// TestRaid1WithoutInSyncLeg: a raid1 none of whose legs can be read (lvm2's
// raid1 with every leg on a missing PV, each an error device) does not
// start, with raid1_run's EINVAL (testdata/lvm/degraded3-oracle.sh); one
// leg readable is enough.
func TestRaid1WithoutInSyncLeg(t *testing.T) {
	e := newEnv(t)
	r := e.Create(8192, "raid1 1 0 3 ma a mb b mc c")
	waitIdle(t, r)
	e.Remove(r)
	readable := ""
	e.Adjust = func(ctx *targets.Context) {
		open := ctx.Open
		ctx.Open = func(path string) (targets.Dev, error) {
			d, err := open(path)
			if err == nil && path != e.Path("m"+readable) && path != e.Path(readable) {
				fail := true
				d = failingDev{d, &fail}
			}
			return d, err
		}
	}
	_, err := e.Build(8192, "raid1 1 0 3 ma a mb b mc c")
	var ce *targets.CtrError
	if !errors.As(err, &ce) || ce.Errno != syscall.EINVAL || !strings.Contains(err.Error(), "Failed to run raid array") {
		t.Fatalf("raid1 with no leg readable: %v", err)
	}
	readable = "b"
	r, err = e.Build(8192, "raid1 1 0 3 ma a mb b mc c")
	if err != nil {
		t.Fatalf("raid1 with leg b readable: %v", err)
	}
	if s := r.Status(); !strings.HasPrefix(s, "raid1 3 DAD ") {
		t.Errorf("raid1 with leg b readable: status %q", s)
	}
	e.Remove(r)
}

// TestStatusWhileSyncing: rs_get_progress's health characters and ratio
// for each sync action: a resync shows every member 'a' and its position,
// a recovery only the members being recovered, a check 'A'; frozen after
// a finished sync shows no progress.
func TestStatusWhileSyncing(t *testing.T) {
	e := newEnv(t)
	r := e.Create(8192, "raid1 2 0 nosync 3 ma a mb b mc c")
	r.mu.Lock()
	r.workerDone = make(chan struct{})
	for _, c := range []struct {
		action string
		member bool // member 2 being recovered
		want   string
	}{
		{actResync, false, "raid1 3 aaa 1024/8192 resync 0 0 -"},
		{actRecover, true, "raid1 3 AAa 1024/8192 recover 0 0 -"},
		{actCheck, false, "raid1 3 AAA 1024/8192 check 0 0 -"},
		{actRepair, false, "raid1 3 AAA 1024/8192 repair 0 0 -"},
	} {
		r.action, r.currSectors = c.action, 1024
		r.members[2].inSync = !c.member
		r.mu.Unlock()
		if s := r.Status(); s != c.want {
			t.Errorf("%s: %q, want %q", c.action, s, c.want)
		}
		r.mu.Lock()
	}
	r.action, r.currSectors, r.workerDone, r.members[2].inSync = actIdle, 0, nil, true
	r.frozen = true
	r.mu.Unlock()
	if s := r.Status(); s != "raid1 3 AAA 0/8192 frozen 0 0 -" {
		t.Errorf("frozen: %q", s)
	}
}

// TestConcurrentIO: writers on disjoint ranges, readers, flushes and
// messages (check, idle) at once, on raid1, raid5 and raid6 with
// metadata devices: every range reads back its writer's last bytes and a
// final check finds the members consistent (run with -race).
func TestConcurrentIO(t *testing.T) {
	for _, table := range []string{
		"raid1 3 0 region_size 64 2 ma a mb b",
		"raid5_ls 3 16 region_size 64 4 ma a mb b mc c md d",
		"raid6_nr 3 16 region_size 64 5 ma a mb b mc c md d me e",
	} {
		t.Run(strings.Fields(table)[0], func(t *testing.T) {
			e := newEnv(t)
			lenSectors := map[string]uint64{"raid1": 8192, "raid5_ls": 3 * 8192, "raid6_nr": 3 * 8192}[strings.Fields(table)[0]]
			r := e.Create(lenSectors, table)
			const writers = 4
			span := lenSectors / writers
			last := make([][]byte, writers)
			done := make(chan error, writers+2)
			for w := range writers {
				go func() {
					rng := rand.New(rand.NewPCG(uint64(w), 9))
					model := make([]byte, span*512)
					for i := range 60 {
						n := uint64(1+rng.IntN(24)) * 512
						at := uint64(rng.IntN(int(span*512-n))) / 512 * 512
						p := dmtest.Random(int(n))
						if err := r.WriteAt(p, uint64(w)*span+at/512); err != nil {
							done <- err
							return
						}
						copy(model[at:], p)
						if i%10 == 9 {
							if err := r.Flush(); err != nil {
								done <- err
								return
							}
						}
					}
					last[w] = model
					done <- nil
				}()
			}
			go func() {
				p := make([]byte, 16<<10)
				for i := range 100 {
					if err := r.ReadAt(p, uint64(i)*32%(lenSectors-32)); err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
			go func() {
				for _, w := range []string{"check", "idle", "check", "frozen", "idle"} {
					r.Message([]string{w})
					r.Status()
				}
				done <- nil
			}()
			for range writers + 2 {
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			}
			got := make([]byte, span*512)
			for w := range writers {
				if err := r.ReadAt(got, uint64(w)*span); err != nil || !bytes.Equal(got, last[w]) {
					t.Fatalf("writer %d's range differs (%v)", w, err)
				}
			}
			waitIdle(t, r)
			r.Message([]string{"check"})
			waitIdle(t, r)
			if s := r.Status(); !strings.HasSuffix(s, " idle 0 0 -") {
				t.Errorf("final check: %s", s)
			}
			e.Remove(r)
		})
	}
}

// wantNoAction checks that r, which what names, needs no resync, recovery or reshape.
func wantNoAction(t *testing.T, r *Raid, what string) {
	t.Helper()
	r.mu.Lock()
	act := r.nextAction()
	r.mu.Unlock()
	if act != "" {
		t.Errorf("%s needs %q", what, act)
	}
}

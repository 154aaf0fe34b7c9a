package raid

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
)

// legsImages is where TestKernelLegs leaves gdmsetup's sets for the
// oracle's testdata/kernel-legs.sh (gw*: a fourth leg waiting, gr*: the
// second leg dropped); empty: nowhere.
var legsImages = flag.String("legs-images", "", "directory for gdmsetup's raid1 leg images (testdata/kernel-legs.sh)")

// legsLenSectors is the length of the kernel-legs.sh sets (1 MiB legs).
const legsLenSectors = 2048

// legsPattern is what testdata/kernel-legs.sh writes through its set: the
// first 1 MiB of `seq 1 400000`.
func legsPattern() []byte {
	var b bytes.Buffer
	for i := 1; b.Len() < 1<<20; i++ {
		fmt.Fprintf(&b, "%d\n", i)
	}
	return b.Bytes()[:1<<20]
}

// newLegsEnv is an env whose legs a..d and metadata devices ma..md are
// 1 MiB, as in kernel-legs.sh.
func newLegsEnv(t *testing.T) *env {
	e := newEnv(t)
	for _, n := range []string{"a", "b", "c", "d"} {
		e.Sparse(n, 1<<20)
		e.Sparse("m"+n, 1<<20)
	}
	return e
}

// copyFiles copies the env's files from[i] to dir/to[i].
func copyFiles(t *testing.T, e *env, dir string, from, to []string) {
	t.Helper()
	for i := range from {
		b, err := os.ReadFile(e.Path(from[i]))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to[i]), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// wantStatus fails the test when r's status is not want.
func wantStatus(t *testing.T, r *Raid, want string) {
	t.Helper()
	if s := r.Status(); s != want {
		t.Errorf("status %q, want %q", s, want)
	}
}

// TestKernelLegs: the steps of testdata/kernel-legs.sh in gdmsetup leave
// the metadata Linux 6.1 left (testdata/kernel-legs-*: but for the event
// counts) after a third leg named by rebuild, a fourth added with
// delta_disks 1 (waiting) and the second dropped; the data legs hold the
// pattern. Then gdmsetup loads the kernel's sets: the one whose fourth leg
// waits (recovered from the others) and the one after the drop (clean).
func TestKernelLegs(t *testing.T) {
	e := newLegsEnv(t)
	pattern := legsPattern()
	r := e.Create(legsLenSectors, "raid1 3 0 region_size 1024 2 ma a mb b")
	waitIdle(t, r)
	if err := r.WriteAt(pattern, 0); err != nil {
		t.Fatal(err)
	}
	e.Remove(r)
	r = e.Create(legsLenSectors, "raid1 5 0 region_size 1024 rebuild 2 3 ma a mb b mc c")
	waitIdle(t, r)
	wantStatus(t, r, "raid1 3 AAA 2048/2048 idle 0 0 -")
	e.Remove(r)
	copyFiles(t, e, e.Dir, []string{"ma", "mb", "mc"}, []string{"gama", "gamb", "gamc"})

	r = e.Create(legsLenSectors, "raid1 5 0 region_size 1024 delta_disks 1 4 ma a mb b mc c md d")
	waitIdle(t, r)
	wantStatus(t, r, "raid1 4 AAAa 0/2048 recover 0 0 -")
	e.Remove(r)
	copyFiles(t, e, e.Dir, []string{"ma", "mb", "mc", "md"}, []string{"gwma", "gwmb", "gwmc", "gwmd"})
	if *legsImages != "" {
		copyFiles(t, e, *legsImages, []string{"a", "b", "c", "d", "ma", "mb", "mc", "md"},
			[]string{"gwa.img", "gwb.img", "gwc.img", "gwd.img", "gwma.img", "gwmb.img", "gwmc.img", "gwmd.img"})
	}

	r = e.Create(legsLenSectors, "raid1 3 0 region_size 1024 4 ma a mb b mc c md d")
	waitIdle(t, r)
	wantStatus(t, r, "raid1 4 AAAA 2048/2048 idle 0 0 -")
	e.Remove(r)
	e.TakeLog()
	r = e.Create(legsLenSectors, "raid1 3 0 region_size 1024 3 ma a mc c md d")
	wantStatus(t, r, "raid1 3 AAA 2048/2048 idle 0 0 -")
	e.Remove(r)
	if log := strings.Join(e.TakeLog(), "\n"); !strings.Contains(log, "raid device #2 now at position #1") ||
		!strings.Contains(log, "raid device #3 now at position #2") {
		t.Errorf("log %q", log)
	}
	for _, n := range []string{"a", "b", "c", "d"} {
		if !bytes.Equal(dmtest.FileBytes(t, e.Path(n), 0, 1<<20), pattern) {
			t.Errorf("leg %s does not hold the pattern", n)
		}
	}
	if *legsImages != "" {
		copyFiles(t, e, *legsImages, []string{"a", "c", "d", "ma", "mc", "md"},
			[]string{"gra.img", "grc.img", "grd.img", "grma.img", "grmc.img", "grmd.img"})
	}

	// the kernel's metadata, 8 KiB a device in kernel-legs.sh's order,
	// compared with gdmsetup's and kept (1 MiB devices) for its sets
	saved := dmtest.GunzipBytes(t, "testdata/kernel-legs-saved.img.gz")
	for i, c := range []struct{ mine, kernel string }{{"gama", "ama"}, {"gamb", "amb"}, {"gamc", "amc"},
		{"gwma", "wma"}, {"gwmb", "wmb"}, {"gwmc", "wmc"}, {"gwmd", "wmd"}, {"ma", "kma"}, {"mc", "kmc"}, {"md", "kmd"}} {
		theirs := saved[i*8192 : (i+1)*8192]
		f, err := os.OpenFile(e.Sparse(c.kernel, 1<<20), os.O_WRONLY, 0)
		if err == nil {
			_, err = f.WriteAt(theirs, 0)
			f.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
		sameButEvents(t, c.mine, theirs, dmtest.FileBytes(t, e.Path(c.mine), 0, 8192))
	}

	// the kernel's sets: its legs held the pattern (its fourth zeros
	// while it waited)
	for _, n := range []string{"a", "b", "c"} {
		if err := os.WriteFile(e.Path("k"+n), pattern, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e.Sparse("kd", 1<<20)
	r = e.Create(legsLenSectors, "raid1 3 0 region_size 1024 4 wma ka wmb kb wmc kc wmd kd")
	waitIdle(t, r)
	wantStatus(t, r, "raid1 4 AAAA 2048/2048 idle 0 0 -")
	checkArray(t, r, pattern)
	e.Remove(r)
	if !bytes.Equal(dmtest.FileBytes(t, e.Path("kd"), 0, 1<<20), pattern) {
		t.Error("the kernel's waiting leg was not recovered")
	}
	r = e.Create(legsLenSectors, "raid1 3 0 region_size 1024 3 kma ka kmc kc kmd kd")
	wantStatus(t, r, "raid1 3 AAA 2048/2048 idle 0 0 -")
	wantNoAction(t, r, "the kernel's set after the drop")
	checkArray(t, r, pattern)
	e.Remove(r)
}

// The legs crash test's set: raid1 on two 8 MiB legs given a third named
// by rebuild, every device behind a volatile write cache, the new leg's
// large writes (the recovery's steps) slowed so that a kill often lands
// while it recovers.
const (
	legsCrashLen   = 16384
	legsCrashTwo   = "raid1 3 0 region_size 256 2 ma a mb b"
	legsCrashAdd   = "raid1 5 0 region_size 256 rebuild 2 3 ma a mb b mc c"
	legsCrashThree = "raid1 3 0 region_size 256 3 ma a mb b mc c"
)

func legsCrash() *dmtest.CrashTest {
	return &dmtest.CrashTest{
		ChildTest: "TestCrashChildLegs", Env: "GDMSETUP_RAID_CRASH_CHILD_legs",
		Keys: legsCrashLen / 8, KeySectors: 8, Data: crashData, FlushEvery: 4,
		Rounds: 12, KillMin: 10 * time.Millisecond, KillMax: 80 * time.Millisecond,
	}
}

// slowDev delays every write of at least slowBytes.
type slowDev struct{ targets.Dev }

const slowBytes = 256 << 10

func (d slowDev) WriteAt(p []byte, off int64) (int, error) {
	if len(p) >= slowBytes {
		time.Sleep(5 * time.Millisecond)
	}
	return d.Dev.WriteAt(p, off)
}

// TestCrashChildLegs is TestCrashLegs's child: it loads the set with its
// third leg named by rebuild, the recovery going on in the background,
// and writes until killed.
func TestCrashChildLegs(t *testing.T) {
	legsCrash().RunChild(t, func(dir string) targets.Target {
		e := reshapeCrashEnv(t, dir)
		cached := e.Adjust
		e.Adjust = func(ctx *targets.Context) {
			cached(ctx)
			open := ctx.Open
			ctx.Open = func(path string) (targets.Dev, error) {
				d, err := open(path)
				if err != nil || filepath.Base(path) != "c" {
					return d, err
				}
				return slowDev{d}, nil
			}
		}
		return e.Create(legsCrashLen, legsCrashAdd)
	})
}

// TestCrashLegs kills processes that write into a raid1 set while the
// third leg lvconvert -m+1 added (rebuild) recovers, volatile write caches
// on every device. After each kill the set is loaded again as LVM would:
// with the three legs when the superblocks say three (the recovery goes
// on from where they say), else with the leg named by rebuild again; the
// recovery and resync run to their end, every flushed write reads back,
// every key its write or zeros, the legs are byte for byte the same. Then
// the third leg is dropped (lvconvert -m-1: the two-leg table, its
// superblocks say two) and zeroed for the next child to add it again.
func TestCrashLegs(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns children")
	}
	crash := legsCrash()
	e := crashEnv(t, t.TempDir())
	drop := func() {
		r := e.Create(legsCrashLen, legsCrashTwo)
		waitIdle(t, r)
		wantStatus(t, r, "raid1 2 AA 16384/16384 idle 0 0 -")
		e.Remove(r)
		e.Sparse("c", 8<<20)
		e.Sparse("mc", 1<<20)
	}
	for _, n := range []string{"a", "b"} {
		e.Sparse(n, 8<<20)
		e.Sparse("m"+n, 1<<20)
	}
	drop()
	midRecovery := 0
	crash.Run(t, e.Dir, func(round int, log *dmtest.CrashLog) {
		table, what := legsCrashAdd, "no superblock for leg 2"
		if sb, ok := parseSuperblock(dmtest.FileBytes(t, e.Path("mc"), 0, sbBytes)); ok && sb.numDevices == 3 {
			table, what = legsCrashThree, fmt.Sprintf("leg 2 recovered to %d", sb.recoveryOffset)
			if sb.recoveryOffset != maxSector {
				midRecovery++
			}
		}
		r := e.Create(legsCrashLen, table)
		waitIdle(t, r)
		wantStatus(t, r, "raid1 3 AAA 16384/16384 idle 0 0 -")
		got := make([]byte, 4096)
		for key := uint64(0); key < uint64(crash.Keys); key++ {
			if err := r.ReadAt(got, key*8); err != nil {
				t.Fatalf("round %d (%s): key %d: %v", round, what, key, err)
			}
			if err := crash.CheckKey(log, key, got); err != nil {
				t.Fatalf("round %d (%s): %v", round, what, err)
			}
		}
		e.Remove(r)
		a := dmtest.FileBytes(t, e.Path("a"), 0, 8<<20)
		for _, n := range []string{"b", "c"} {
			if d := firstDiff(a, dmtest.FileBytes(t, e.Path(n), 0, 8<<20)); d >= 0 {
				t.Fatalf("round %d (%s): leg %s differs from leg a at byte %d", round, what, n, d)
			}
		}
		t.Logf("round %d: %d writes logged, %d flushed, %s", round, log.Next, len(log.Durable), what)
		drop()
	})
	if midRecovery == 0 {
		t.Error("no kill found the third leg recovering: nothing was interrupted")
	}
}

// TestLegsRefused: raid1 member counts the kernel refuses (the oracle's
// raid1-legs.scn), and those gdmsetup does not carry out, over a clean
// set of three legs.
func TestLegsRefused(t *testing.T) {
	for _, c := range []struct {
		name, table, reason string
		errno               syscall.Errno
		log                 string
	}{
		{"a new leg without rebuild or delta_disks", "raid1 1 0 4 ma a mb b mc c md d",
			"Unable to assemble array: Invalid superblocks", syscall.EINVAL,
			"New device injected into existing raid set without 'delta_disks' or 'rebuild' parameter specified"},
		{"delta_disks -1", "raid1 3 0 delta_disks -1 2 ma a mb b", "Can't reshape degraded raid set", syscall.EPERM, ""},
		{"delta_disks with an old leg to rebuild", "raid1 5 0 delta_disks 1 rebuild 1 4 ma a mb b mc c md d",
			"Unable to assemble array: Invalid superblocks", syscall.EINVAL,
			"1 'rebuild' devices cannot be injected into a raid set with 2 other first-time devices"},
		{"delta_disks above the new legs", "raid1 3 0 delta_disks 2 4 ma a mb b mc c md d",
			"Unable to assemble array: Invalid superblocks", syscall.EINVAL,
			"New device injected into existing raid set without 'delta_disks' or 'rebuild' parameter specified"},
		{"delta_disks above the new legs, rebuilt", "raid1 5 0 delta_disks 2 rebuild 3 4 ma a mb b mc c md d",
			"Reshape not supported", syscall.EPERM, ""},
		{"delta_disks on the same legs", "raid1 3 0 delta_disks 1 3 ma a mb b mc c", "Reshape not supported", syscall.EPERM, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			r := e.Create(8192, "raid1 1 0 3 ma a mb b mc c")
			waitIdle(t, r)
			e.Remove(r)
			e.TakeLog()
			_, err := e.Build(8192, c.table)
			if err == nil || !strings.Contains(err.Error(), c.reason) || !errors.Is(err, c.errno) {
				t.Errorf("error %v, want %q (%v)", err, c.reason, c.errno)
			}
			if log := strings.Join(e.TakeLog(), "\n"); !strings.Contains(log, c.log) {
				t.Errorf("log %q lacks %q", log, c.log)
			}
		})
	}
	t.Run("a set not resynced to its end", func(t *testing.T) {
		e := newEnv(t)
		r := e.Create(8192, "raid1 1 0 2 ma a mb b")
		r.mu.Lock()
		r.stopSync()
		r.recoveryCp, r.frozen = 1024, true
		r.mu.Unlock()
		e.Remove(r)
		_, err := e.Build(8192, "raid1 3 0 rebuild 2 3 ma a mb b mc c")
		if err == nil || !strings.Contains(err.Error(), "Reshape not supported") || !errors.Is(err, syscall.EPERM) {
			t.Errorf("error %v", err)
		}
	})
}

// TestLegsWaiting: a leg added with delta_disks takes the writes, serves
// no read and is not recovered while its table lives, in later processes
// too (saved state) and across suspend and resume; the next load recovers
// it from the others.
func TestLegsWaiting(t *testing.T) {
	e := newEnv(t)
	want := bytes.Repeat([]byte("legs"), 2<<20/4)
	r := e.Create(8192, "raid1 1 0 2 ma a mb b")
	waitIdle(t, r)
	if err := r.WriteAt(want, 0); err != nil {
		t.Fatal(err)
	}
	e.Remove(r)
	const table = "raid1 3 0 delta_disks 1 3 ma a mb b mc c"
	r = e.Create(8192, table)
	waitIdle(t, r)
	wantStatus(t, r, "raid1 3 AAa 0/8192 recover 0 0 -")
	if _, err := r.Message([]string{"check"}); !errors.Is(err, syscall.EBUSY) {
		t.Errorf("check while the leg waits: %v", err)
	}
	news := bytes.Repeat([]byte{0x5a}, 64<<10)
	if err := r.WriteAt(news, 2048); err != nil {
		t.Fatal(err)
	}
	copy(want[1<<20:], news)
	r = e.Restore(r, 8192, table)
	waitIdle(t, r)
	wantStatus(t, r, "raid1 3 AAa 0/8192 recover 0 0 -")
	if err := r.PostSuspend(); err != nil {
		t.Fatal(err)
	}
	e.Resume(r)
	waitIdle(t, r)
	wantStatus(t, r, "raid1 3 AAa 0/8192 recover 0 0 -")
	got := make([]byte, len(want))
	if err := r.ReadAt(got, 0); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read while the leg waits: %v, differs at %d", err, firstDiff(got, want))
	}
	e.Remove(r)
	c := dmtest.FileBytes(t, e.Path("c"), 0, 2<<20)
	if !bytes.Equal(c[1<<20:1<<20+len(news)], news) || !bytes.Equal(c[:1<<20], make([]byte, 1<<20)) {
		t.Error("the waiting leg holds other than the write made while it waited")
	}
	r = e.Create(8192, "raid1 1 0 3 ma a mb b mc c")
	waitIdle(t, r)
	wantStatus(t, r, "raid1 3 AAA 8192/8192 idle 0 0 -")
	checkArray(t, r, want)
	e.Remove(r)
	if !bytes.Equal(dmtest.FileBytes(t, e.Path("c"), 0, len(want)), want) {
		t.Error("the leg was not recovered")
	}
}

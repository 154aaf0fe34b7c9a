package raid

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
)

// The crash tests' arrays, with metadata devices and without nosync: the
// first child's array resyncs while it writes; every later one finds the
// bitmap the kill left, with the regions written last dirty. Keys are
// 4 KiB; the region size is small so that a kill leaves some regions
// dirty and others clean.
var crashArrays = map[string]struct {
	table      string
	lenSectors uint64
}{
	"raid1": {"raid1 3 0 region_size 256 2 ma a mb b", 8192},
	"raid5": {"raid5_ls 3 16 region_size 256 3 ma a mb b mc c", 16384},
	// journaled: no bitmap and no metadata devices (the array counts
	// as in sync): only the journal's replay makes the rows a kill
	// left half written consistent again
	"raid5j": {"raid5_ls 3 16 journal_dev j 3 - a - b - c", 16384},
	"raid6j": {"raid6_zr 3 16 journal_dev j 4 - a - b - c - d", 16384},
	// writeback: the keys (whole pages) complete once in the journal,
	// the members written later; a kill leaves the cache to the replay
	"raid5jwb": {"raid5_ls 5 16 journal_dev j journal_mode writeback 3 - a - b - c", 16384},
}

func crashTest(level string) *dmtest.CrashTest {
	return &dmtest.CrashTest{
		ChildTest: "TestCrashChild" + strings.ToUpper(level[:1]) + level[1:], Env: "GDMSETUP_RAID_CRASH_CHILD_" + level,
		Keys: int(crashArrays[level].lenSectors / 8), KeySectors: 8, Data: crashData, FlushEvery: 4,
		Pause: 0, Rounds: 8, KillMin: 15 * time.Millisecond, KillMax: 60 * time.Millisecond,
	}
}

func crashData(k int) []byte { return bytes.Repeat([]byte{byte(k*7 + 1)}, 4096) }

func crashEnv(t testing.TB, dir string) *env {
	e := dmtest.NewTargetEnv[*Raid](t, dir, New)
	e.Args = e.FileArgs
	return e
}

func crashChild(t *testing.T, level string) {
	crashTest(level).RunChild(t, func(dir string) targets.Target {
		a := crashArrays[level]
		e := crashEnv(t, dir)
		if strings.Contains(level, "j") {
			e.Adjust = func(ctx *targets.Context) {
				open := ctx.Open
				ctx.Open = func(path string) (targets.Dev, error) {
					d, err := open(path)
					if err != nil || filepath.Base(path) == "j" {
						return d, err
					}
					return &cachingDev{Dev: d}, nil
				}
			}
		}
		return e.Create(a.lenSectors, a.table)
	})
}

// cachingDev is a member with a volatile write cache, as a disk has: every
// other write stays in the cache until a flush, so a kill loses some of a
// row's writes and not others (the write hole the journal closes).
//
// Concurrency: mu guards held and n.
type cachingDev struct {
	targets.Dev
	mu   sync.Mutex
	held []heldWrite
	n    int
}

type heldWrite struct {
	p   []byte
	off int64
}

func (d *cachingDev) WriteAt(p []byte, off int64) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.n++
	if d.n%2 == 0 {
		d.held = append(d.held, heldWrite{append([]byte(nil), p...), off})
		return len(p), nil
	}
	d.dropOverlaps(off, int64(len(p)))
	return d.Dev.WriteAt(p, off)
}

// dropOverlaps writes back the held writes a new write overlaps (a later
// write wins over the cache's older bytes). mu held.
func (d *cachingDev) dropOverlaps(off, n int64) {
	kept := d.held[:0]
	for _, h := range d.held {
		if h.off < off+n && off < h.off+int64(len(h.p)) {
			d.Dev.WriteAt(h.p, h.off)
			continue
		}
		kept = append(kept, h)
	}
	d.held = kept
}

func (d *cachingDev) ReadAt(p []byte, off int64) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dropOverlaps(off, int64(len(p)))
	return d.Dev.ReadAt(p, off)
}

func (d *cachingDev) Flush() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, h := range d.held {
		if _, err := d.Dev.WriteAt(h.p, h.off); err != nil {
			return err
		}
	}
	d.held = nil
	return d.Dev.Flush()
}

// TestCrashChildRaid1 is TestCrash's raid1 child: it writes until killed.
func TestCrashChildRaid1(t *testing.T) { crashChild(t, "raid1") }

// TestCrashChildRaid5 is TestCrash's raid5 child.
func TestCrashChildRaid5(t *testing.T) { crashChild(t, "raid5") }

// TestCrashChildRaid5j is TestCrash's journaled raid5 child.
func TestCrashChildRaid5j(t *testing.T) { crashChild(t, "raid5j") }

// TestCrashChildRaid6j is TestCrash's journaled raid6 child.
func TestCrashChildRaid6j(t *testing.T) { crashChild(t, "raid6j") }

// TestCrashChildRaid5jwb is TestCrash's raid5 child with a writeback
// journal.
func TestCrashChildRaid5jwb(t *testing.T) { crashChild(t, "raid5jwb") }

// TestCrash kills a raid1 and a raid5 array with metadata, and a
// journaled raid5 (writethrough and writeback) and raid6, while they
// write, several times, and after each kill loads the table again over
// what is left (as after a reboot): the resync of the dirty regions (or of the rest of the
// initial resync), or the journal's replay, runs to its end; every
// flushed write reads back, every key reads its write or zeros; the
// members agree (raid1's legs byte for byte, raid5's and raid6's parity
// by a check finding no mismatch).
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns children")
	}
	for _, level := range []string{"raid1", "raid5", "raid5j", "raid6j", "raid5jwb"} {
		t.Run(level, func(t *testing.T) {
			crash, a := crashTest(level), crashArrays[level]
			e := crashEnv(t, t.TempDir())
			for _, n := range []string{"a", "b", "c", "d"} {
				e.Sparse(n, 4<<20)
				e.Sparse("m"+n, 1<<20)
			}
			e.Sparse("j", 8<<20)
			crash.Run(t, e.Dir, func(round int, log *dmtest.CrashLog) {
				r := e.Create(a.lenSectors, a.table)
				waitIdle(t, r)
				got := make([]byte, 4096)
				for key := uint64(0); key < uint64(crash.Keys); key++ {
					if err := r.ReadAt(got, key*8); err != nil {
						t.Fatalf("round %d: key %d: %v", round, key, err)
					}
					if err := crash.CheckKey(log, key, got); err != nil {
						t.Fatalf("round %d: %v", round, err)
					}
				}
				if level == "raid1" {
					if !bytes.Equal(dmtest.FileBytes(t, e.Path("a"), 0, 4<<20), dmtest.FileBytes(t, e.Path("b"), 0, 4<<20)) {
						t.Fatalf("round %d: the legs differ after the resync", round)
					}
				} else {
					if _, err := r.Message([]string{"check"}); err != nil {
						t.Fatal(err)
					}
					waitIdle(t, r)
					if s := r.Status(); !strings.Contains(s, " idle 0 0 ") {
						t.Fatalf("round %d: check after the resync: %s", round, s)
					}
				}
				t.Logf("round %d: %d writes logged, %d flushed, %s", round, log.Next, len(log.Durable), r.Status())
				e.EndProcess(r)
			})
		})
	}
}

// waitIdle waits (20 s at most) until the array has no sync to do.
func waitIdle(t testing.TB, r *Raid) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.workerDone != nil || r.nextAction() != "" {
		if time.Now().After(deadline) {
			t.Fatal(fmt.Sprintf("sync still running: %s", r.action))
		}
		r.drainSync()
		r.startSync()
	}
}

// The reshape crash test's set: raid5_ls on three members of zeros given
// a fourth (data_offset 32: two 16-sector units a step, 64 steps), every
// member and metadata device behind a volatile write cache.
const (
	reshapeCrashLen   = 6144
	reshapeCrashTable = "raid5_ls 1 16 4 ma a mb b mc c md d"
)

func reshapeCrash() *dmtest.CrashTest {
	return &dmtest.CrashTest{
		ChildTest: "TestCrashChildReshape", Env: "GDMSETUP_RAID_CRASH_CHILD_reshape",
		Keys: 4096 / 8, KeySectors: 8, Data: crashData, FlushEvery: 4,
		Rounds: 6, KillMin: 10 * time.Millisecond, KillMax: 40 * time.Millisecond,
	}
}

// reshapeCrashEnv is crashEnv with every device behind a cachingDev.
func reshapeCrashEnv(t testing.TB, dir string) *env {
	e := crashEnv(t, dir)
	e.Adjust = func(ctx *targets.Context) {
		open := ctx.Open
		ctx.Open = func(path string) (targets.Dev, error) {
			d, err := open(path)
			if err != nil {
				return d, err
			}
			return &cachingDev{Dev: d}, nil
		}
	}
	return e
}

// TestCrashChildReshape is TestCrashReshape's child: it loads the set, its
// reshape going on in the background, and writes until killed.
func TestCrashChildReshape(t *testing.T) {
	reshapeCrash().RunChild(t, func(dir string) targets.Target {
		return reshapeCrashEnv(t, dir).Create(reshapeCrashLen, reshapeCrashTable)
	})
}

// TestCrashReshape kills processes that write into a raid5 set while its
// reshape adding a member runs (volatile write caches on every device),
// and after each kill reads every key through a table that does not run
// the reshape (the position the superblocks say splits the geometries):
// every flushed write reads back, every key its write or zeros. At the
// end the reshape runs to its end, the keys read back again and a check
// finds no mismatch.
func TestCrashReshape(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns children")
	}
	crash := reshapeCrash()
	e := crashEnv(t, t.TempDir())
	for _, n := range []string{"a", "b", "c", "d"} {
		e.Sparse(n, 4<<20)
		e.Sparse("m"+n, 1<<20)
	}
	r := e.Create(4096, "raid5_ls 1 16 3 ma a mb b mc c")
	waitIdle(t, r)
	e.Remove(r)
	r = e.Create(reshapeCrashLen, "raid5_ls 5 16 delta_disks 1 data_offset 32 4 ma a mb b mc c md d")
	e.Remove(r)
	check := func(what string, r *Raid, log *dmtest.CrashLog) {
		got := make([]byte, 4096)
		for key := uint64(0); key < uint64(crash.Keys); key++ {
			if err := r.ReadAt(got, key*8); err != nil {
				t.Fatalf("%s: key %d: %v", what, key, err)
			}
			if err := crash.CheckKey(log, key, got); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
	}
	var last *dmtest.CrashLog
	positions := map[uint64]bool{}
	crash.Run(t, e.Dir, func(round int, log *dmtest.CrashLog) {
		r := e.MustConstruct(e.LoadContext(reshapeCrashLen), reshapeCrashTable)
		pos := uint64(maxSector)
		if r.rs != nil {
			pos = r.rs.posSectors
		}
		positions[pos] = true
		check(fmt.Sprintf("round %d (reshape position %d)", round, pos), r, log)
		t.Logf("round %d: %d writes logged, %d flushed, reshape position %d", round, log.Next, len(log.Durable), pos)
		r.Close()
		last = log
	})
	if len(positions) < 2 {
		t.Errorf("every kill found the reshape at the same place (%v): nothing was interrupted", positions)
	}
	r = e.Create(reshapeCrashLen, reshapeCrashTable)
	waitIdle(t, r)
	check("reshaped", r, last)
	data := make([]byte, 4096*sectorBytes) // the array md serves until the next load
	if err := r.ReadAt(data, 0); err != nil {
		t.Fatal(err)
	}
	checkReshaped(t, r, data)
	e.Remove(r)
}

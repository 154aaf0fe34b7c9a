package raid

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
)

// journalTable is the journaled raid5 of the kernel's images: 4 members
// of 4 MiB, 8 KiB chunks, no metadata devices.
const journalTable = "raid5_ls 3 16 journal_dev j 4 - a - b - c - d"

// journalData is what the kernel wrote (testdata/kernel-journal-*): 96 KiB
// of "one\n" at 0, then 32 KiB of "two\n" at 8 KiB and 4 KiB of "six\n"
// at 72 KiB, the last two logged but dropped on their way to the members.
func journalData() []byte {
	b := bytes.Repeat([]byte("one\n"), 96<<10/4)
	copy(b[8<<10:], bytes.Repeat([]byte("two\n"), 32<<10/4))
	copy(b[72<<10:], bytes.Repeat([]byte("six\n"), 4<<10/4))
	return b
}

// journalEnv is an env whose members a..d drop their writes while drop
// is set (dm-flakey's drop_writes), the journal j apart.
func journalEnv(t *testing.T, drop *atomic.Bool) *env {
	e := dmtest.NewTargetEnv[*Raid](t, t.TempDir(), New)
	e.Args = e.FileArgs
	for _, n := range []string{"a", "b", "c", "d"} {
		e.Sparse(n, 4<<20)
	}
	e.Sparse("j", 8<<20)
	e.Adjust = func(ctx *targets.Context) {
		open := ctx.Open
		ctx.Open = func(path string) (targets.Dev, error) {
			d, err := open(path)
			if err != nil || filepath.Base(path) == "j" {
				return d, err
			}
			return &dropDev{d, drop}, nil
		}
	}
	return e
}

type dropDev struct {
	targets.Dev
	drop *atomic.Bool
}

func (d *dropDev) WriteAt(p []byte, off int64) (int, error) {
	if d.drop.Load() {
		return len(p), nil
	}
	return d.Dev.WriteAt(p, off)
}

// replayAfterCrash ends r's process as a crash does (the table is not
// removed), lets the members take writes again, hands the journal to
// exportJournal when export is set, and loads table again: the replay must
// read want back. The array is removed at the end.
func replayAfterCrash(t *testing.T, e *env, r *Raid, drop *atomic.Bool, lenSectors uint64, table string, want []byte, export bool) {
	t.Helper()
	e.EndProcess(r)
	drop.Store(false)
	if export {
		exportJournal(t, e, want)
	}
	r = e.Create(lenSectors, table)
	checkArray(t, r, want)
	e.Remove(r)
}

// checkArray reads want from the array's start and runs a check that
// must find the parity consistent.
func checkArray(t *testing.T, r *Raid, want []byte) {
	t.Helper()
	got := make([]byte, len(want))
	if err := r.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("array bytes differ from the writes (first at %d)", firstDiff(got, want))
	}
	if _, err := r.Message([]string{"check"}); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, r)
	if s := r.Status(); !strings.Contains(s, " idle 0 0 ") {
		t.Fatalf("check after the replay: %s", s)
	}
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// TestKernelJournal loads the members and journals the kernel left with
// writes logged but not on the members: writethrough (a data-parity
// chain from sector 0) and writeback (data-only stripes logged after the
// kernel's own recovery, reached past its empty meta block). The writes
// read back and the parity is consistent; without the replay they do
// not.
func TestKernelJournal(t *testing.T) {
	for _, mode := range []string{"jwt", "jwb"} {
		t.Run(mode, func(t *testing.T) {
			for _, replay := range []bool{true, false} {
				e := newEnv(t)
				for _, n := range []string{"a", "b", "c", "d"} {
					dmtest.Gunzip(t, "testdata/kernel-journal-"+n+".img.gz", e.Path(n))
				}
				dmtest.Gunzip(t, "testdata/kernel-journal-"+mode+".img.gz", e.Path("j"))
				journalReplay = replay
				r := e.Create(24576, journalTable)
				journalReplay = true
				if !replay {
					got := make([]byte, 96<<10)
					r.ReadAt(got, 0)
					if bytes.Equal(got, journalData()) {
						t.Fatal("the writes read back without the replay")
					}
					e.Remove(r)
					continue
				}
				checkArray(t, r, journalData())
				// a new chain starts at 0 once the members hold the log
				mb := dmtest.FileBytes(t, e.Path("j"), 0, 4096)
				if binary.LittleEndian.Uint32(mb) != r5logMagic || binary.LittleEndian.Uint32(mb[12:]) != metaHeaderBytes {
					t.Fatalf("no empty meta block at 0 after the recovery: % x", mb[:32])
				}
				e.Remove(r)
			}
		})
	}
}

// exportJournal copies, with GDMSETUP_RAID_JOURNAL_OUT set, the members
// a..d and the journal j (as NAME.img) and the bytes the array must read
// (want.img) into a directory there named for the test, for the kernel
// to load them (docs/raid.md).
func exportJournal(t *testing.T, e *env, want []byte) {
	out := os.Getenv("GDMSETUP_RAID_JOURNAL_OUT")
	if out == "" {
		return
	}
	dir := filepath.Join(out, strings.ReplaceAll(t.Name(), "/", "-"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "want.img"), want, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b", "c", "d", "j"} {
		b, err := os.ReadFile(e.Path(n))
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, n+".img"), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestJournalReplay writes through a journaled raid5 and raid6 whose
// members drop every write after the first ones (the journal keeps
// them), in a process after the one that made the array (the log's head
// comes with the saved state): the next load replays the log, the
// writes read back, the parity checks clean. raid5's files before that
// load are exported (exportJournal).
func TestJournalReplay(t *testing.T) {
	for _, tc := range []struct{ table string }{
		{journalTable},
		{"raid6_zr 3 16 journal_dev j 4 - a - b - c - d"},
	} {
		t.Run(strings.Fields(tc.table)[0], func(t *testing.T) {
			var drop atomic.Bool
			e := journalEnv(t, &drop)
			lenSectors := uint64(24576)
			if strings.HasPrefix(tc.table, "raid6") {
				lenSectors = 16384
			}
			r := e.Create(lenSectors, tc.table)
			want := dmtest.Random(192 << 10)
			if err := r.WriteAt(want, 0); err != nil {
				t.Fatal(err)
			}
			r = e.Restore(r, lenSectors, tc.table)
			drop.Store(true)
			// rows apart: a member that drops a write would hand a later
			// write of its row stale bytes to compute the parity from
			for _, w := range []struct{ off, n int }{{8 << 10, 8 << 10}, {49 << 10, 1 << 10}, {96 << 10, 32 << 10}, {150 << 10, 4 << 10}} {
				copy(want[w.off:], dmtest.Random(w.n))
				if err := r.WriteAt(want[w.off:w.off+w.n], uint64(w.off)/sectorBytes); err != nil {
					t.Fatal(err)
				}
			}
			replayAfterCrash(t, e, r, &drop, lenSectors, tc.table, want, !strings.HasPrefix(tc.table, "raid6"))
		})
	}
}

// TestJournalFills has writers at once fill a 4 MiB journal many times
// over (the log starts again at 0 each time the members hold it all);
// the array left without a clean stop loads again with every write
// read back and its parity consistent.
func TestJournalFills(t *testing.T) {
	var drop atomic.Bool
	e := journalEnv(t, &drop)
	e.Sparse("j", 4<<20)
	r := e.Create(24576, journalTable)
	const writers, writes, blockBytes = 4, 60, 48 << 10
	want := make([]byte, writers*blockBytes)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range writes {
				b := bytes.Repeat([]byte{byte(w*writes + i)}, blockBytes)
				if err := r.WriteAt(b, uint64(w*blockBytes)/sectorBytes); err != nil {
					errs <- err
					return
				}
				if i == writes-1 {
					copy(want[w*blockBytes:], b)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	e.EndProcess(r)
	r = e.Create(24576, journalTable)
	checkArray(t, r, want)
	e.Remove(r)
}

// flushCountDev counts the flushes of a device, each delayed by delay
// (a disk's cache flush) so that writers pile up behind one.
type flushCountDev struct {
	targets.Dev
	flushes *atomic.Int64
	delay   time.Duration
}

func (d *flushCountDev) Flush() error {
	d.flushes.Add(1)
	time.Sleep(d.delay)
	return d.Dev.Flush()
}

// groupEnv is journalEnv whose journal counts its flushes.
func groupEnv(t *testing.T, drop *atomic.Bool, flushes *atomic.Int64, delay time.Duration) *env {
	e := journalEnv(t, drop)
	dropOpen := e.Adjust
	e.Adjust = func(ctx *targets.Context) {
		dropOpen(ctx)
		open := ctx.Open
		ctx.Open = func(path string) (targets.Dev, error) {
			d, err := open(path)
			if err != nil || filepath.Base(path) != "j" {
				return d, err
			}
			return &flushCountDev{d, flushes, delay}, nil
		}
	}
	return e
}

// TestJournalOneAppendPerWrite writes 768 KiB (32 rows, 64 stripe heads:
// two meta blocks) at once: its stripes are logged in one append, one
// flush of the journal; the members dropping the write, the next load's
// replay brings it all back. The files before that load are exported
// (exportJournal).
func TestJournalOneAppendPerWrite(t *testing.T) {
	var drop atomic.Bool
	var flushes atomic.Int64
	e := groupEnv(t, &drop, &flushes, 0)
	r := e.Create(24576, journalTable)
	want := make([]byte, 768<<10)
	if err := r.WriteAt(want, 0); err != nil {
		t.Fatal(err)
	}
	r = e.Restore(r, 24576, journalTable)
	drop.Store(true)
	copy(want[4<<10:], dmtest.Random(len(want)-8<<10))
	before := flushes.Load()
	if err := r.WriteAt(want, 0); err != nil {
		t.Fatal(err)
	}
	if n := flushes.Load() - before; n != 1 {
		t.Fatalf("a write of 32 rows flushed the journal %d times, want 1", n)
	}
	replayAfterCrash(t, e, r, &drop, 24576, journalTable, want, true)
}

// TestJournalGroupCommit has writers at once write rows apart while
// each flush of the journal takes a while: writers that come while a
// group is being written share the next group's flush (fewer flushes
// than writes); the members dropping the writes, the next load replays
// the groups (many writers' stripes in shared meta blocks) and every
// write reads back.
func TestJournalGroupCommit(t *testing.T) {
	var drop atomic.Bool
	var flushes atomic.Int64
	e := groupEnv(t, &drop, &flushes, 2*time.Millisecond)
	r := e.Create(24576, journalTable)
	const writers, writes, rowBytes = 8, 8, 24 << 10
	want := make([]byte, writers*writes*rowBytes)
	if err := r.WriteAt(want, 0); err != nil {
		t.Fatal(err)
	}
	r = e.Restore(r, 24576, journalTable)
	drop.Store(true)
	before := flushes.Load()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range writes {
				off := (i*writers+w)*rowBytes + w<<10
				b := dmtest.Random(4 << 10)
				copy(want[off:], b)
				if err := r.WriteAt(b, uint64(off)/sectorBytes); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	n := flushes.Load() - before
	t.Logf("%d writes, %d journal flushes", writers*writes, n)
	if n >= writers*writes/2 {
		t.Fatalf("%d writes at once flushed the journal %d times: no group commit", writers*writes, n)
	}
	replayAfterCrash(t, e, r, &drop, 24576, journalTable, want, false)
}

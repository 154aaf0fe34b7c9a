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

// TestJournalReplay writes through a journaled raid5 and raid6 whose
// members drop every write after the first ones (the journal keeps
// them), in a process after the one that made the array (the log's head
// comes with the saved state): the next load replays the log, the
// writes read back, the parity checks clean. With
// GDMSETUP_RAID_JOURNAL_OUT set, raid5's files before that load are
// copied there with the bytes written (want.bin), for the kernel to
// load them.
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
			e.EndProcess(r) // a crash: the table is not removed
			drop.Store(false)
			if dir := os.Getenv("GDMSETUP_RAID_JOURNAL_OUT"); dir != "" && !strings.HasPrefix(tc.table, "raid6") {
				if err := os.WriteFile(filepath.Join(dir, "want.bin"), want, 0o644); err != nil {
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
			r = e.Create(lenSectors, tc.table)
			checkArray(t, r, want)
			e.Remove(r)
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

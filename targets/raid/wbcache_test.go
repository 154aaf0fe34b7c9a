package raid

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// wbTable is journalTable with a writeback journal.
const wbTable = "raid5_ls 5 16 journal_dev j journal_mode writeback 4 - a - b - c - d"

// membersBytes is the members' files, a..d, one after the other.
func membersBytes(t *testing.T, e *env) []byte {
	var b []byte
	for _, n := range []string{"a", "b", "c", "d"} {
		b = append(b, dmtest.FileBytes(t, e.Path(n), 0, 4<<20)...)
	}
	return b
}

// TestWritebackCaches writes whole pages over three rows through a
// writeback journal, no stripe head wholly: the writes read back while the members are still
// untouched (the data is in the journal and the cache only); a clean
// stop writes them out (the members change), and the next load reads
// them back with a clean check.
func TestWritebackCaches(t *testing.T) {
	var drop atomic.Bool
	e := journalEnv(t, &drop)
	r := e.Create(24576, wbTable)
	want := make([]byte, 96<<10)
	if err := r.WriteAt(want, 0); err != nil {
		t.Fatal(err)
	}
	r = e.Restore(r, 24576, wbTable) // the zeros written out
	before := membersBytes(t, e)
	// none a full stripe (those are written through)
	for _, w := range []struct{ off, n int }{{8 << 10, 16 << 10}, {28 << 10, 4 << 10}, {52 << 10, 16 << 10}} {
		copy(want[w.off:], dmtest.Random(w.n))
		if err := r.WriteAt(want[w.off:w.off+w.n], uint64(w.off)/sectorBytes); err != nil {
			t.Fatal(err)
		}
	}
	got := make([]byte, len(want))
	if err := r.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("cached writes do not read back (first difference at %d)", firstDiff(got, want))
	}
	if !bytes.Equal(membersBytes(t, e), before) {
		t.Fatal("a cached write reached the members before its write-out")
	}
	e.Remove(r)
	if bytes.Equal(membersBytes(t, e), before) {
		t.Fatal("the clean stop did not write the cache out")
	}
	r = e.Create(24576, wbTable)
	checkArray(t, r, want)
	e.Remove(r)
}

// TestWritebackReplay leaves cached writes to the journal alone (the
// members drop the write-out at the end of the process, as after a
// crash): the next load replays them as data-only stripes, their parity
// computed over the members' other data. The files before that load are
// exported (exportJournal) for the kernel.
func TestWritebackReplay(t *testing.T) {
	var drop atomic.Bool
	e := journalEnv(t, &drop)
	r := e.Create(24576, wbTable)
	want := make([]byte, 192<<10)
	if err := r.WriteAt(want, 0); err != nil {
		t.Fatal(err)
	}
	r = e.Restore(r, 24576, wbTable)
	for _, w := range []struct{ off, n int }{{8 << 10, 8 << 10}, {48 << 10, 4 << 10}, {96 << 10, 40 << 10}, {180 << 10, 12 << 10}} {
		copy(want[w.off:], dmtest.Random(w.n))
		if err := r.WriteAt(want[w.off:w.off+w.n], uint64(w.off)/sectorBytes); err != nil {
			t.Fatal(err)
		}
	}
	drop.Store(true)
	replayAfterCrash(t, e, r, &drop, 24576, wbTable, want, true)
}

// TestWritebackMixed has writers at once, each in its own rows, write
// whole pages (cached) and parts of pages (their stripes written out
// first, then written through) and read their rows back against what
// they wrote, through a 4 MiB journal that fills and starts again and a
// cache bounded by a small stripe_cache; the members drop the last
// write-out (a crash): the next load reads every write back, the parity
// consistent.
func TestWritebackMixed(t *testing.T) {
	var drop atomic.Bool
	e := journalEnv(t, &drop)
	e.Sparse("j", 4<<20)
	const table = "raid5_ls 7 16 journal_dev j journal_mode writeback stripe_cache 32 4 - a - b - c - d"
	r := e.Create(24576, table)
	const writers, rowBytes, rowsEach = 4, 24 << 10, 6
	want := make([]byte, writers*rowsEach*rowBytes)
	if err := r.WriteAt(want, 0); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			base := w * rowsEach * rowBytes
			region := want[base : base+rowsEach*rowBytes]
			got := make([]byte, len(region))
			for i := range 150 {
				off, n := rng.IntN(len(region)/4096)*4096, 4096*(1+rng.IntN(6))
				if i%3 == 0 { // part of a page
					off, n = rng.IntN(len(region)/512)*512, 512*(1+rng.IntN(12))
				}
				n = min(n, len(region)-off)
				copy(region[off:off+n], dmtest.Random(n))
				if err := r.WriteAt(region[off:off+n], uint64(base+off)/sectorBytes); err != nil {
					errs <- err
					return
				}
				if err := r.ReadAt(got, uint64(base)/sectorBytes); err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(got, region) {
					errs <- fmt.Errorf("writer %d, write %d: its rows read back differ at %d", w, i, firstDiff(got, region))
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
	drop.Store(true)
	replayAfterCrash(t, e, r, &drop, 24576, table, want, false)
}

// TestKernelWritebackChain loads a journal the kernel left in writeback
// mode with its cache unwritten (64 KiB of "five\n" written at 64 KiB
// through a fresh array, the guest powered off with the table live:
// testdata/kernel-journal-jwb0, 8 data-only stripes in the chain from 0,
// the members still zero): the replay writes them out with their parity;
// without it the array reads zeros there.
func TestKernelWritebackChain(t *testing.T) {
	want := make([]byte, 192<<10)
	copy(want[64<<10:], bytes.Repeat([]byte("five\n"), 65536/5+1)[:65536])
	for _, replay := range []bool{true, false} {
		e := newEnv(t)
		for _, n := range []string{"a", "b", "c", "d"} {
			e.Sparse(n, 4<<20)
		}
		dmtest.Gunzip(t, "testdata/kernel-journal-jwb0.img.gz", e.Path("j"))
		journalReplay = replay
		r := e.Create(24576, wbTable)
		journalReplay = true
		if replay {
			checkArray(t, r, want)
		} else {
			got := make([]byte, len(want))
			if err := r.ReadAt(got, 0); err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(got, want) {
				t.Fatal("the kernel's cached writes read back without the replay")
			}
		}
		e.Remove(r)
	}
}

// TestJournalKilledProcess goes on from a saved state, writes (cached
// with writeback; logged, the members dropping the writes, with
// writethrough) and is killed before it saves its own state: the next
// process, given the older state, finds the log went on, recovers it as
// a load does, and reads the writes back.
func TestJournalKilledProcess(t *testing.T) {
	for mode, table := range map[string]string{"writethrough": journalTable, "writeback": wbTable} {
		t.Run(mode, func(t *testing.T) {
			var drop atomic.Bool
			e := journalEnv(t, &drop)
			r := e.Create(24576, table)
			want := make([]byte, 96<<10)
			if err := r.WriteAt(want, 0); err != nil {
				t.Fatal(err)
			}
			saved := e.EndProcess(r)
			restore := func() *Raid {
				ctx := e.Context(24576)
				ctx.Restored, ctx.Saved = true, saved
				return e.MustConstruct(ctx, table)
			}
			r = restore()
			drop.Store(true)
			copy(want[8<<10:], dmtest.Random(48<<10))
			if err := r.WriteAt(want[8<<10:56<<10], 16); err != nil {
				t.Fatal(err)
			}
			if err := r.Close(); err != nil { // killed: no SaveState
				t.Fatal(err)
			}
			drop.Store(false)
			r = restore()
			checkArray(t, r, want)
			e.Remove(r)
		})
	}
}

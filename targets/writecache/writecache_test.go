package writecache

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// kernelFormatSHA256 is the sha256 of a zeroed 1 MiB cache device after the
// kernel (6.1) formatted it with 4 KiB blocks (fidelity writecache.scn).
const kernelFormatSHA256 = "5c5bc6ef2fe5846e4d8cedd271a20796f348f70e29d92769e3b9c646077644c9"

const originSectors = 32768 // 16 MiB

func TestFormatIsTheKernels(t *testing.T) {
	e := newEnv(t)
	origin, cache := e.Sparse("origin", 16<<20), e.Sparse("cache", 1<<20)
	w := e.Create(originSectors, "s "+origin+" "+cache+" 4096 0")
	defer w.Close()
	if got := fileHash(t, cache); got != kernelFormatSHA256 {
		t.Fatalf("formatted cache device: sha256 %s, the kernel's %s", got, kernelFormatSHA256)
	}
	if got, want := w.Status(), "0 254 254 0 0 0 0 0 0 0 0 0 0 0"; got != want {
		t.Fatalf("status %q, want %q", got, want)
	}
	if got, want := w.Table(), "s "+origin+" "+cache+" 4096 0"; got != want {
		t.Fatalf("table %q, want %q", got, want)
	}
}

func TestDirtyCacheReadsBack(t *testing.T) {
	e := newEnv(t)
	origin, cache := e.Sparse("origin", 16<<20), e.Sparse("cache", 1<<20)
	table := "s " + origin + " " + cache + " 4096 0"
	w := e.Create(originSectors, table)
	a, b := pattern(1, 4096), pattern(2, 3*4096)
	if err := w.WriteAt(a, 0); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteAt(b, 128); err != nil { // 64 KiB: three blocks in one piece
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := w.Status(), "0 254 250 0 0 0 4 0 0 0 4 0 1 0"; got != want {
		t.Fatalf("status %q, want %q", got, want)
	}
	w = e.Restore(w, w.lenSectors, table)
	dmtest.MustEqual(t, "block 0 in a later process", dmtest.ReadAt(t, w, 0, 4096), a)
	if got, want := w.Status(), "0 254 250 0 1 1 4 0 0 0 4 0 1 0"; got != want {
		t.Fatalf("status after a rebuild %q, want %q", got, want)
	}
	e.Remove(w)
	dmtest.MustEqual(t, "the origin", dmtest.FileBytes(t, origin, 0, 4096), make([]byte, 4096))

	// a new table over the dirty cache device: the recovery case
	w = e.Create(originSectors, table)
	if got, want := w.Status(), "0 254 250 0 0 0 0 0 0 0 0 0 0 0"; got != want {
		t.Fatalf("status of a new table %q, want %q", got, want)
	}
	dmtest.MustEqual(t, "block 0 from the dirty cache", dmtest.ReadAt(t, w, 0, 4096), a)
	dmtest.MustEqual(t, "blocks 16-18 from the dirty cache", dmtest.ReadAt(t, w, 120, 4*4096)[4096:], b)
	if _, err := w.Message([]string{"flush"}); err != nil {
		t.Fatal(err)
	}
	if got, want := w.Status(), "0 254 254 0 5 4 0 0 0 0 0 0 0 0"; got != want {
		t.Fatalf("status after flush %q, want %q", got, want)
	}
	dmtest.MustEqual(t, "block 0 written back", dmtest.FileBytes(t, origin, 0, 4096), a)
	dmtest.MustEqual(t, "blocks 16-18 written back", dmtest.FileBytes(t, origin, 64<<10, 3*4096), b)
	e.Remove(w)
}

func TestUncommittedAndCommittedHits(t *testing.T) {
	e := newEnv(t)
	origin, cache := e.Sparse("origin", 16<<20), e.Sparse("cache", 1<<20)
	w := e.Create(originSectors, "s "+origin+" "+cache+" 4096 0")
	defer w.Close()
	for i := 0; i < 2; i++ {
		if err := w.WriteAt(pattern(byte(i), 4096), 8); err != nil {
			t.Fatal(err)
		}
	}
	seq := func() uint64 { return decodeSuperblock(dmtest.FileBytes(t, cache, 0, sbBytes)).seqCount }
	if s := status(w); s[7] != "1" || s[8] != "0" || seq() != 0 {
		t.Fatalf("a rewrite before the commit: status %v, superblock seq_count %d", s, seq())
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if seq() != 1 {
		t.Fatalf("seq_count %d after a flush, want 1", seq())
	}
	if err := w.WriteAt(pattern(3, 4096), 8); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if s := status(w); s[7] != "1" || s[8] != "1" || seq() != 1 {
		t.Fatalf("a rewrite of a committed block: status %v, seq_count %d (want no commit)", s, seq())
	}
	dmtest.MustEqual(t, "the rewritten block", dmtest.ReadAt(t, w, 8, 4096), pattern(3, 4096))
}

// TestCrashKeepsCommittedBlocks abandons a table without any of the end
// of a process (a kill -9): a new table over the cache device loads, the
// committed blocks are there, the uncommitted ones are gone (their entries
// erased at resume), and the origin serves their sectors.
func TestCrashKeepsCommittedBlocks(t *testing.T) {
	e := newEnv(t)
	origin, cache := e.Sparse("origin", 16<<20), e.Sparse("cache", 1<<20)
	table := "s " + origin + " " + cache + " 4096 0"
	w := e.Create(originSectors, table)
	a := pattern(5, 4096)
	if err := w.WriteAt(a, 0); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteAt(pattern(6, 8192), 8); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	w.markAll()
	w.commitFlushed() // the uncommitted entries' region reaches the disk without the superblock
	w.mu.Unlock()
	w.stopWorker()

	w2 := e.Create(originSectors, table)
	defer w2.Close()
	dmtest.MustEqual(t, "the committed block", dmtest.ReadAt(t, w2, 0, 4096), a)
	dmtest.MustEqual(t, "the uncommitted blocks", dmtest.ReadAt(t, w2, 8, 8192), make([]byte, 8192))
	if s := status(w2); s[2] != "253" {
		t.Fatalf("status %v: want 253 free blocks", s)
	}
}

func TestWatermarkWriteback(t *testing.T) {
	e := newEnv(t)
	origin, cache := e.Sparse("origin", 16<<20), e.Sparse("cache", 256<<10)
	w := e.Create(originSectors, "s "+origin+" "+cache+" 4096 6 high_watermark 5 low_watermark 3 pause_writeback 0")
	defer w.Close()
	for i, mib := range []uint64{2, 3, 4} {
		if err := w.WriteAt(pattern(byte(i), 4096), mib<<11); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	dmtest.Within(t, "writeback down to the low watermark", func() error {
		for status(w)[2] != "62" {
			time.Sleep(10 * time.Millisecond)
		}
		return nil
	}, func() string { return w.Status() })
	dmtest.MustEqual(t, "2 MiB written back", dmtest.FileBytes(t, origin, 2<<20, 4096), pattern(0, 4096))
	dmtest.MustEqual(t, "3 MiB written back", dmtest.FileBytes(t, origin, 3<<20, 4096), pattern(1, 4096))
	dmtest.MustEqual(t, "4 MiB still in the cache only", dmtest.FileBytes(t, origin, 4<<20, 4096), make([]byte, 4096))
	dmtest.MustEqual(t, "4 MiB through the cache", dmtest.ReadAt(t, w, 4<<11, 4096), pattern(2, 4096))
}

func TestCleanerWritesAround(t *testing.T) {
	e := newEnv(t)
	origin, cache := e.Sparse("origin", 16<<20), e.Sparse("cache", 256<<10)
	w := e.Create(originSectors, "s "+origin+" "+cache+" 4096 0")
	defer w.Close()
	if err := w.WriteAt(pattern(1, 8192), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Message([]string{"Cleaner"}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteAt(pattern(2, 4096), 64); err != nil {
		t.Fatal(err)
	}
	e.Remove(w) // the cleaner asks for a flush on suspend
	dmtest.MustEqual(t, "written back", dmtest.FileBytes(t, origin, 0, 8192), pattern(1, 8192))
	dmtest.MustEqual(t, "written around", dmtest.FileBytes(t, origin, 32<<10, 4096), pattern(2, 4096))
	if s := status(w); s[2] != "63" || s[9] != "1" {
		t.Fatalf("status %v: want every block free, one write around", s)
	}
}

func TestDiscardFreesBlocks(t *testing.T) {
	e := newEnv(t)
	origin, cache := e.Sparse("origin", 16<<20), e.Sparse("cache", 1<<20)
	w := e.Create(originSectors, "s "+origin+" "+cache+" 4096 0")
	defer w.Close()
	if err := w.WriteAt(pattern(1, 4*4096), 0); err != nil {
		t.Fatal(err)
	}
	if err := w.Discard(8, 16); err != nil {
		t.Fatal(err)
	}
	want := append(pattern(1, 4096), make([]byte, 8192)...)
	want = append(want, pattern(1, 4*4096)[3*4096:]...)
	dmtest.MustEqual(t, "after the discard", dmtest.ReadAt(t, w, 0, 4*4096), want)
	if s := status(w); s[2] != "252" || s[13] != "2" {
		t.Fatalf("status %v: want 252 free, 2 blocks discarded", s)
	}
	if err := w.Discard(1, 8); err == nil || !errors.Is(err, syscall.EIO) {
		t.Fatalf("a discard not made of blocks: %v, want EIO", err)
	}
	if log := e.TakeLog(); len(log) != 1 || log[0] != "device-mapper: writecache: I/O is not aligned, sector 1, size 4096, block size 4096" {
		t.Fatalf("log %q", log)
	}
}

func TestMessages(t *testing.T) {
	e := newEnv(t)
	origin, cache := e.Sparse("origin", 16<<20), e.Sparse("cache", 1<<20)
	w := e.Create(originSectors, "s "+origin+" "+cache+" 4096 0")
	defer w.Close()
	for _, m := range []string{"flush now", "cleaner x", "clear_stats 1", "frobnicate"} {
		if _, err := w.Message(strings.Fields(m)); !errors.Is(err, syscall.EINVAL) {
			t.Errorf("message %q: %v, want EINVAL", m, err)
		}
	}
	if log := e.TakeLog(); len(log) != 1 || log[0] != "device-mapper: writecache: unrecognised message received: frobnicate" {
		t.Fatalf("log %q", log)
	}
	if err := w.PostSuspend(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Message([]string{"flush"}); !errors.Is(err, syscall.EBUSY) {
		t.Fatalf("flush while suspended: %v, want EBUSY", err)
	}
	if _, err := w.Message([]string{"FLUSH_ON_SUSPEND"}); err != nil {
		t.Fatal(err)
	}
	w.Resume()
	if _, err := w.Message([]string{"flush"}); err != nil {
		t.Fatal(err)
	}
}

func TestCanonicalTable(t *testing.T) {
	e := newEnv(t)
	origin, cache := e.Sparse("origin", 16<<20), e.Sparse("cache", 256<<10)
	w, err := e.Build(originSectors, "S "+origin+" "+cache+" 512 18 PAUSE_WRITEBACK 500 metadata_only cleaner max_age 1000 "+
		"autocommit_time 100 Autocommit_Blocks 20 writeback_jobs 8 low_watermark 30 high_watermark 40 start_sector 8")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	want := "s " + origin + " " + cache + " 512 18 start_sector 8 high_watermark 40 low_watermark 30 writeback_jobs 8 " +
		"autocommit_blocks 20 autocommit_time 100 max_age 1000 cleaner metadata_only pause_writeback 500"
	if got := w.Table(); got != want {
		t.Fatalf("table\n%s\nwant\n%s", got, want)
	}
	if w.nBlocks != 488 {
		t.Fatalf("%d blocks, want 488", w.nBlocks)
	}
}

func TestConstructorErrors(t *testing.T) {
	e := newEnv(t)
	origin, cache, tiny := e.Sparse("origin", 16<<20), e.Sparse("cache", 1<<20), e.Sparse("tiny", 4096)
	oc := origin + " " + cache
	for _, c := range []struct{ args, msg string }{
		{"", "Bad arguments"},
		{"x " + oc + " 4096 0", "Bad arguments"},
		{"s " + origin, "Bad arguments"},
		{"s " + e.Dir + "/missing " + cache + " 4096 0", "Origin data device lookup failed"},
		{"s " + origin + " " + e.Dir + "/missing 4096 0", "Cache data device lookup failed"},
		{"s " + oc + " +4096 0", "Invalid block size"},
		{"s " + oc + " 3072 0", "Invalid block size"},
		{"s " + oc + " 4096", "Invalid number of feature args"},
		{"s " + oc + " 4096 2 cleaner", "Invalid number of feature args"},
		{"s " + oc + " 4096 1 start_sector", "Invalid optional argument"},
		{"s " + oc + " 4096 2 start_sector 2048", "Invalid optional argument"},
		{"s " + oc + " 4096 2 high_watermark -1", "Invalid optional argument"},
		{"s " + oc + " 4096 1 fua", "Invalid optional argument"},
		{"s " + oc + " 4096 4 high_watermark 40 low_watermark 41", "High watermark must be greater than or equal to low watermark"},
		{"p " + oc + " 4096 2 pause_writeback 0", "Invalid optional argument"},
		{"p " + oc + " 4096 0", "Asynchronous persistent memory not supported as pmem cache"},
		{"s " + origin + " " + tiny + " 4096 0", "Invalid device size"},
	} {
		_, err := e.Build(100, c.args)
		if err == nil || err.Error() != c.msg {
			t.Errorf("%q: %v, want %q", c.args, err, c.msg)
		}
	}
	if got := fileHash(t, cache); got != fileHash(t, e.Sparse("zeros", 1<<20)) {
		t.Fatal("a refused table wrote to the cache device")
	}
	w, err := e.Build(8, "s "+oc+" 4294971392 2 high_watermark 4294967346")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if got, want := w.Table(), "s "+oc+" 4096 2 high_watermark 50"; got != want {
		t.Fatalf("wrapped numbers: table %q, want %q", got, want)
	}
	if _, err := e.Build(8, "s "+oc+" 512 0"); err == nil || err.Error() != "Block size does not match superblock" {
		t.Fatalf("another block size: %v", err)
	}
}

// TestStateAcrossProcesses checks that a later process sees the LRU order,
// the free cursor and the counters the kernel would still hold: a block
// freed by a discard and taken again by a write is the newest, not the
// oldest as a resume would order it.
func TestStateAcrossProcesses(t *testing.T) {
	e := newEnv(t)
	origin, cache := e.Sparse("origin", 16<<20), e.Sparse("cache", 64<<10) // 15 blocks
	table := "s " + origin + " " + cache + " 4096 4 high_watermark 100 low_watermark 100"
	w := e.Create(originSectors, table)
	for i := uint64(0); i < 14; i++ {
		if err := w.WriteAt(pattern(byte(i), 4096), i*16); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Discard(0, 24); err != nil { // blocks 0 and 1 (sectors 0 and 16)
		t.Fatal(err)
	}
	for _, s := range []uint64{400, 408} { // blocks 14 and 0
		if err := w.WriteAt(pattern(9, 4096), s); err != nil {
			t.Fatal(err)
		}
	}
	w.mu.Lock()
	lru, head := w.lruRuns(), w.idx.head
	w.mu.Unlock()
	if head != 0 {
		t.Fatalf("LRU head %d, want block 0 (taken again last)", head)
	}
	before := w.Status()
	w = e.Restore(w, w.lenSectors, table)
	defer w.Close()
	w.mu.Lock()
	after := w.lruRuns()
	w.mu.Unlock()
	if fmt.Sprint(after) != fmt.Sprint(lru) {
		t.Fatalf("LRU order in a later process %v, want %v", after, lru)
	}
	if got := w.Status(); got != before {
		t.Fatalf("status in a later process %q, want %q", got, before)
	}
	// the next write takes the free cursor's block (1), the last one
	if err := w.WriteAt(pattern(10, 4096), 416); err != nil {
		t.Fatal(err)
	}
	if s := status(w); s[2] != "0" {
		t.Fatalf("status %v: want no free block", s)
	}
}

// TestFlushOnSuspendOnce checks that the flush on suspend a cleaner table
// asks for is used by one suspend, in this process or a later one.
func TestFlushOnSuspendOnce(t *testing.T) {
	e := newEnv(t)
	origin, cache := e.Sparse("origin", 16<<20), e.Sparse("cache", 256<<10)
	table := "s " + origin + " " + cache + " 4096 1 cleaner"
	w := e.Create(originSectors, table)
	if !w.flushOnSuspend {
		t.Fatal("a cleaner table does not flush on suspend")
	}
	if err := w.PostSuspend(); err != nil {
		t.Fatal(err)
	}
	w.Resume()
	w = e.Restore(w, w.lenSectors, table)
	defer w.Close()
	if w.flushOnSuspend {
		t.Fatal("flush_on_suspend back in a later process after a suspend used it")
	}
}

// TestEndOfProcessFinishesWriteback checks that queued writeback waiting
// for pause_writeback is done at the end of a process, past the 64 blocks
// after which the kernel's work queues itself again, down to the low
// watermark.
func TestEndOfProcessFinishesWriteback(t *testing.T) {
	e := newEnv(t)
	origin, cache := e.Sparse("origin", 16<<20), e.Sparse("cache", 1<<20) // 254 blocks
	table := "s " + origin + " " + cache + " 4096 4 high_watermark 60 low_watermark 10"
	w := e.Create(originSectors, table)
	for i := uint64(0); i < 160; i++ { // every other block: no two in one copy
		if err := w.WriteAt(pattern(byte(i), 4096), i*16); err != nil {
			t.Fatal(err)
		}
	}
	if s := status(w); s[2] != "94" {
		t.Fatalf("status %v: want 94 free blocks before the writeback (pause_writeback holds it)", s)
	}
	w = e.Restore(w, w.lenSectors, table)
	defer w.Close()
	if s := status(w); s[2] != "230" { // free + written back > 229 (low watermark)
		t.Fatalf("status %v: want 230 free blocks after the writeback", s)
	}
	dmtest.MustEqual(t, "the oldest block written back", dmtest.FileBytes(t, origin, 0, 4096), pattern(0, 4096))
	dmtest.MustEqual(t, "the newest block still cached", dmtest.FileBytes(t, origin, 159*16*512, 4096), make([]byte, 4096))
	dmtest.MustEqual(t, "the newest block through the cache", dmtest.ReadAt(t, w, 159*16, 4096), pattern(159, 4096))
}

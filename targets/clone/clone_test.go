package clone

import (
	"bytes"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/internal/fixture"
)

// waitHydrated waits for the completion event and checks the count.
func waitHydrated(t *testing.T, e *env, c *Clone) {
	t.Helper()
	select {
	case <-e.events:
	case <-time.After(60 * time.Second):
		t.Fatalf("no completion event; status %s", c.Status())
	}
	c.mu.Lock()
	n := c.nrHydrated
	c.mu.Unlock()
	if n != c.nrRegions {
		t.Fatalf("event with %d of %d regions hydrated", n, c.nrRegions)
	}
}

// TestRstExample follows dm-clone.rst: a clone created with no_hydration,
// used, then hydrated with enable_hydration while random writes go on; the
// destination ends equal to the source with every write laid over it.
func TestRstExample(t *testing.T) {
	e := newEnv(t)
	const size = 8 << 20
	meta := e.Sparse("meta", 4<<20)
	dest := e.Sparse("dest", size)
	src := e.source("src", size)
	model := sourceBytes(0, size)
	c := e.mustBuild(size/512, meta+" "+dest+" "+src+" 8 1 no_hydration")
	if got, want := c.Status(), "8 6/1024 8 0/2048 0 1 no_hydration 4 hydration_threshold 1 hydration_batch_size 1 rw"; got != want {
		t.Fatalf("status %q, want %q", got, want)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	k := 0
	write := func() {
		// 1..8 sectors inside one region (the core never crosses one)
		s := rng.Uint64N(size / 512)
		n := 1 + rng.Uint64N(8-s%8)
		p := writeData(k, int(n*512))
		k++
		if err := c.WriteAt(p, s); err != nil {
			t.Error(err)
			return
		}
		copy(model[s*512:], p)
	}
	for i := 0; i < 200; i++ {
		write()
	}
	if _, err := c.Message([]string{"hydration_threshold", "8"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Message([]string{"hydration_batch_size", "4"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Message([]string{"enable_hydration"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 4096)
		for i := 0; i < 2000; i++ {
			write()
			s := rng.Uint64N(size/4096) * 8
			if err := c.ReadAt(buf, s); err != nil {
				t.Error(err)
				return
			}
			if !bytes.Equal(buf, model[s*512:s*512+4096]) {
				t.Errorf("read at sector %d differs from the model", s)
				return
			}
		}
	}()
	wg.Wait()
	waitHydrated(t, e, c)
	table := meta + " " + dest + " " + src + " 8 1 no_hydration"
	// restored in a later process: everything hydrated, messages' settings
	// kept (the table lives on)
	c = e.Restore(c, size/512, table)
	got, err := os.ReadFile(dest)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, model) {
		t.Fatal("destination differs from source + writes")
	}
	if got, want := c.Status(), "8 6/1024 8 2048/2048 0 0 4 hydration_threshold 8 hydration_batch_size 4 rw"; got != want {
		t.Fatalf("restored status %q, want %q", got, want)
	}
	c.Close()
	// a new table over the same metadata starts from its arguments
	c = e.mustBuild(size/512, table)
	if got, want := c.Status(), "8 6/1024 8 2048/2048 0 1 no_hydration 4 hydration_threshold 1 hydration_batch_size 1 rw"; got != want {
		t.Fatalf("new table's status %q, want %q", got, want)
	}
	c.Close()
}

// TestDiscardAndLastRegion: whole regions covered by a discard become
// hydrated without a copy (also with no_discard_passdown); partial ones do
// not; a target whose length is not a multiple of the region size
// hydrates its short last region.
func TestDiscardAndLastRegion(t *testing.T) {
	e := newEnv(t)
	const lenSectors = 100 // 12 regions of 8 and one of 4
	meta := e.Sparse("meta", 1<<20)
	dest := e.Sparse("dest", 1<<20)
	src := e.source("src", 1<<20)
	c := e.mustBuild(lenSectors, meta+" "+dest+" "+src+" 8 2 no_hydration no_discard_passdown")
	if err := c.Discard(4, 30); err != nil { // covers regions 1..3 only
		t.Fatal(err)
	}
	if got := c.Status(); !strings.Contains(got, " 3/13 ") {
		t.Fatalf("after discard: %s", got)
	}
	if _, err := c.Message([]string{"enable_hydration"}); err != nil {
		t.Fatal(err)
	}
	waitHydrated(t, e, c)
	c.Close()
	got, _ := os.ReadFile(dest)
	want := sourceBytes(0, lenSectors*512)
	for _, r := range []int{0, 4, 12} {
		off, end := r*4096, min(r*4096+4096, lenSectors*512)
		if !bytes.Equal(got[off:end], want[off:end]) {
			t.Errorf("region %d not copied", r)
		}
	}
	if !bytes.Equal(got[8*512:32*512], make([]byte, 24*512)) {
		t.Error("discarded regions were copied")
	}
}

// TestSuspendResumeReload: suspend stops hydration and keeps settings;
// a table replacing another takes over its metadata at resume and starts
// from its own arguments.
func TestSuspendResumeReload(t *testing.T) {
	e := newEnv(t)
	meta := e.Sparse("meta", 1<<20)
	dest := e.Sparse("dest", 4<<20)
	src := e.source("src", 4<<20)
	table := meta + " " + dest + " " + src + " 8"
	c := e.MustConstruct(e.LoadContext(8192), table)
	if err := c.PreResume(); err != nil {
		t.Fatal(err)
	}
	c.Resume()
	c.Message([]string{"hydration_threshold", "0"})
	if err := c.PostSuspend(); err != nil {
		t.Fatal(err)
	}
	st := c.Status()
	time.Sleep(50 * time.Millisecond)
	if c.Status() != st {
		t.Fatal("hydration went on while suspended")
	}
	// a new table loaded in place of c: standby until its resume
	c2 := e.MustConstruct(e.LoadContext(8192), table+" 0 2 hydration_batch_size 7")
	if err := c2.PreResume(); err != nil {
		t.Fatal(err)
	}
	c2.Resume()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	waitHydrated(t, e, c2)
	if got := c2.Status(); !strings.HasSuffix(got, "1024/1024 0 0 4 hydration_threshold 1 hydration_batch_size 7 rw") {
		t.Fatalf("status %s", got)
	}
	c2.Close()
}

// TestKernelFixture opens the metadata the kernel's dm-clone wrote: every
// region the kernel marked is shown hydrated and reads back as the source.
func TestKernelFixture(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"clone_meta", "clone_src", "clone_dest"} {
		if err := os.Rename(fixture.Unxz(t, n), e.Path(n)); err != nil {
			t.Fatal(err)
		}
	}
	c := e.mustBuild(32768, e.Path("clone_meta")+" "+e.Path("clone_dest")+" "+e.Path("clone_src")+" 8 1 no_hydration")
	c.mu.Lock()
	n, bitmap := c.nrHydrated, append([]uint64(nil), c.bitmap...)
	c.mu.Unlock()
	if got, want := c.Status(), "8 6/1024 8 891/4096 0 1 no_hydration 4 hydration_threshold 1 hydration_batch_size 1 rw"; got != want || n != 891 {
		t.Fatalf("status %q, want %q", got, want)
	}
	src, _ := os.ReadFile(e.Path("clone_src"))
	dest, _ := os.ReadFile(e.Path("clone_dest"))
	for r := 0; r < 4096; r++ {
		if bitmap[r/64]&(1<<(r%64)) != 0 && !bytes.Equal(src[r*4096:r*4096+4096], dest[r*4096:r*4096+4096]) {
			t.Fatalf("hydrated region %d differs from the source", r)
		}
	}
	c.Message([]string{"enable_hydration"})
	waitHydrated(t, e, c)
	c.Close()
	c = e.mustBuild(32768, e.Path("clone_meta")+" "+e.Path("clone_dest")+" "+e.Path("clone_src")+" 8")
	if got := c.Status(); !strings.Contains(got, " 4096/4096 ") {
		t.Fatalf("after hydration: %s", got)
	}
	buf := make([]byte, 4096)
	for s := uint64(0); s < 32768; s += 8 {
		if err := c.ReadAt(buf, s); err != nil || !bytes.Equal(buf, src[s*512:s*512+4096]) {
			t.Fatalf("sector %d: %v", s, err)
		}
	}
	c.Close()
}

// TestOnlyWholeRegionOverwriteSkipsCopy: a region-sized write is not
// preceded by a copy; a smaller one is.
func TestOnlyWholeRegionOverwriteSkipsCopy(t *testing.T) {
	e := newEnv(t)
	meta := e.Sparse("meta", 1<<20)
	dest := e.Sparse("dest", 1<<20)
	src := e.source("src", 1<<20)
	c := e.mustBuild(2048, meta+" "+dest+" "+src+" 16 1 no_hydration")
	if err := c.WriteAt(writeData(1, 8192), 0); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteAt(writeData(2, 512), 16+3); err != nil {
		t.Fatal(err)
	}
	c.Close()
	got, _ := os.ReadFile(dest)
	want := sourceBytes(8192, 8192)
	copy(want[3*512:], writeData(2, 512))
	if !bytes.Equal(got[:8192], writeData(1, 8192)) || !bytes.Equal(got[8192:16384], want) {
		t.Fatal("destination regions 0-1 wrong")
	}
}

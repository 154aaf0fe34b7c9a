package cache

import (
	"bytes"
	"math/rand"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// clock is a test's time: it moves only when told to.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// TestModel drives a small writeback cache (8 blocks of 64 KiB over 2 MiB)
// with random whole-block and partial writes, reads and discards, under a
// clock that jumps now and then (the waker then ticks the policy and runs
// writebacks while idle: hot blocks get promoted, cold ones demoted), the
// table rebuilt from its saved state as a new process would and switched
// between smq, the cleaner and passthrough; every read must return what
// a plain disk would, and the metadata must pass cache_check after each
// suspend.
func TestModel(t *testing.T) {
	d := dmtest.NewDirect(t)
	dir := t.TempDir()
	mk := func(name string, size int64) string { return dmtest.Sparse(t, filepath.Join(dir, name), size) }
	meta, cdev, origin := mk("meta", 1<<20), mk("cdev", 512<<10), mk("origin", 2<<20)
	const lenSectors = 2 << 20 / 512
	const blockBytes = 64 << 10
	model := make([]byte, 2<<20)
	clk := &clock{t: time.Unix(1e9, 0)}
	rng := rand.New(rand.NewSource(1))
	events := 0
	build := func(policy, mode string, saved string, restored bool) *Cache {
		t.Helper()
		ctx := d.Context(lenSectors)
		ctx.Event = func() { events++ }
		ctx.Restored, ctx.Saved = restored, saved
		args := []string{meta, cdev, origin, "128", "2", "metadata2", mode, policy, "2", "migration_threshold", "2048"}
		tg, err := newWithClock(ctx, args, clk.now)
		if err != nil {
			t.Fatalf("cache %v: %v %v", args, err, d.TakeLog())
		}
		return tg
	}
	resume := func(c *Cache) {
		t.Helper()
		if err := c.PreResume(); err != nil {
			t.Fatalf("preresume: %v %v", err, d.TakeLog())
		}
		c.Resume()
	}
	check := func() {
		t.Helper()
		if p, err := exec.LookPath("cache_check"); err == nil {
			if out, err := exec.Command(p, meta).CombinedOutput(); err != nil {
				t.Fatalf("cache_check: %v\n%s", err, out)
			}
		}
	}
	var total counters // over the tables built anew (a rebuild keeps counting)
	add := func(k counters) {
		total.Promotion += k.Promotion
		total.Demotion += k.Demotion
		total.Writeback += k.Writeback
		total.ReadHit += k.ReadHit
	}
	c := build("smq", "writeback", "", false)
	resume(c)
	for step := 0; step < 3000; step++ {
		block := int64(rng.Intn(32))
		if rng.Intn(4) == 0 {
			block = int64(rng.Intn(4)) // a hot set
		}
		off := block * blockBytes
		switch op := rng.Intn(10); {
		case op < 3:
			p := dmtest.Random(blockBytes)
			if err := c.WriteAt(p, uint64(off/512)); err != nil {
				t.Fatal(err)
			}
			copy(model[off:], p)
		case op < 5:
			sub := int64(rng.Intn(16)) * 4096
			p := dmtest.Random(4096)
			if err := c.WriteAt(p, uint64((off+sub)/512)); err != nil {
				t.Fatal(err)
			}
			copy(model[off+sub:], p)
		case op < 6 && c.feat.discardPassdown:
			// a discard leaves the data undefined: the model forgets nothing,
			// so discard only what is then written whole.
			if err := c.Discard(uint64(off/512), blockBytes/512); err != nil {
				t.Fatal(err)
			}
			p := dmtest.Random(blockBytes)
			if err := c.WriteAt(p, uint64(off/512)); err != nil {
				t.Fatal(err)
			}
			copy(model[off:], p)
		default:
			p := make([]byte, blockBytes)
			if err := c.ReadAt(p, uint64(off/512)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(p, model[off:off+blockBytes]) {
				t.Fatalf("step %d: block %d reads wrong (status %s)", step, block, c.Status())
			}
		}
		if rng.Intn(50) == 0 {
			clk.t = clk.t.Add(time.Duration(500+rng.Intn(2000)) * time.Millisecond)
		}
		if step%500 == 499 {
			saved := c.SaveState()
			c.StopBackground()
			c.Close()
			check()
			c = build(c.pol.Kind, [...]string{"writeback", "writethrough", "passthrough"}[c.feat.io], saved, true)
		}
		if step%1000 == 999 {
			if err := c.PostSuspend(); err != nil {
				t.Fatal(err)
			}
			check()
			add(c.st.Counters)
			c.Destroy()
			c.Close()
			policy, mode := "smq", "writeback"
			switch step / 1000 {
			case 0:
				policy = "cleaner"
			case 1:
				mode = "writethrough"
			}
			c = build(policy, mode, "", false)
			resume(c)
		}
	}
	if err := c.PostSuspend(); err != nil {
		t.Fatal(err)
	}
	check()
	add(c.st.Counters)
	t.Logf("status at the end: %s; in all %+v, %d events", c.Status(), total, events)
	if total.Promotion == 0 || total.Demotion == 0 || total.Writeback == 0 || total.ReadHit == 0 {
		t.Errorf("promotions, demotions, writebacks and read hits should all have happened: %+v", total)
	}
	c.Close()
}

// TestConcurrentIO runs readers and writers on distinct blocks of one
// cache at once, with the waker due on every call (a clock a second on each
// look), as an NBD server's connections would: every block must read back
// what its last write left, with no deadlock (run with -race).
func TestConcurrentIO(t *testing.T) {
	d := dmtest.NewDirect(t)
	dir := t.TempDir()
	paths := map[string]int64{"meta": 1 << 20, "cdev": 256 << 10, "origin": 2 << 20}
	for name, size := range paths {
		dmtest.Sparse(t, filepath.Join(dir, name), size)
	}
	var mu sync.Mutex
	tm := time.Unix(1e9, 0)
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		tm = tm.Add(300 * time.Millisecond)
		return tm
	}
	ctx := d.Context(2 << 20 / 512)
	ctx.Event = func() {}
	c, err := newWithClock(ctx, []string{filepath.Join(dir, "meta"), filepath.Join(dir, "cdev"), filepath.Join(dir, "origin"),
		"128", "1", "writeback", "smq", "0"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.PreResume(); err != nil {
		t.Fatal(err)
	}
	c.Resume()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			for i := 0; i < 200; i++ {
				block := uint64(w + 4*rng.Intn(8))
				p := bytes.Repeat([]byte{byte(i), byte(w)}, 32<<10)
				sub := uint64(0)
				if rng.Intn(2) == 0 {
					p, sub = p[:4096], uint64(rng.Intn(16))*8
				}
				if err := c.WriteAt(p, block*128+sub); err != nil {
					t.Error(err)
					return
				}
				q := make([]byte, len(p))
				if err := c.ReadAt(q, block*128+sub); err != nil {
					t.Error(err)
					return
				}
				if !bytes.Equal(p, q) {
					t.Errorf("worker %d: block %d reads back wrong", w, block)
					return
				}
				if i%50 == 0 {
					c.Flush()
					c.Status()
				}
			}
		}(w)
	}
	wg.Wait()
	if err := c.PostSuspend(); err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// TestLostStateKeepsDirtyBlocks rebuilds a live table whose saved state is
// lost (or unreadable): its dirty cached block must still read back from
// the cache device, and count as dirty, as after an unclean shutdown.
func TestLostStateKeepsDirtyBlocks(t *testing.T) {
	d := dmtest.NewDirect(t)
	dir := t.TempDir()
	for name, size := range map[string]int64{"meta": 1 << 20, "cdev": 256 << 10, "origin": 2 << 20} {
		dmtest.Sparse(t, filepath.Join(dir, name), size)
	}
	args := []string{filepath.Join(dir, "meta"), filepath.Join(dir, "cdev"), filepath.Join(dir, "origin"),
		"128", "1", "writeback", "smq", "2", "migration_threshold", "0"}
	ctx := d.Context(2 << 20 / 512)
	ctx.Event = func() {}
	c, err := newWithClock(ctx, args, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.PreResume(); err != nil {
		t.Fatal(err)
	}
	c.Resume()
	p := dmtest.Random(64 << 10)
	if err := c.WriteAt(p, 128); err != nil {
		t.Fatal(err)
	}
	c.StopBackground()
	c.Close()
	for _, saved := range []string{"", "not a state"} {
		ctx := d.Context(2 << 20 / 512)
		ctx.Event = func() {}
		ctx.Restored, ctx.Saved = true, saved
		c, err := newWithClock(ctx, args, time.Now)
		if err != nil {
			t.Fatalf("saved %q: %v", saved, err)
		}
		q := make([]byte, len(p))
		if err := c.ReadAt(q, 128); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(p, q) {
			t.Errorf("saved %q: the dirty cached block reads from the origin", saved)
		}
		if c.st.NrDirty != 1 {
			t.Errorf("saved %q: %d dirty blocks, want 1", saved, c.st.NrDirty)
		}
		c.Close()
	}
}

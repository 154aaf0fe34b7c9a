package writecache

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
)

// The crash test's devices: a 16 MiB origin (4096 blocks) and a 256 KiB
// cache device (63 blocks) that writeback keeps between its watermarks.
// Its children write blocks, a flush every 4 writes.
const (
	crashOriginBlocks = 4096
	crashTable        = "4096 6 high_watermark 30 low_watermark 10 pause_writeback 0"
)

var crash = &dmtest.CrashTest{
	ChildTest: "TestCrashChild", Env: "GDMSETUP_WRITECACHE_CRASH_CHILD",
	Keys: crashOriginBlocks, KeySectors: 8, Data: crashData, FlushEvery: 4, Pause: 100 * time.Microsecond,
	Rounds: 5, KillMin: 20 * time.Millisecond, KillMax: 80 * time.Millisecond,
}

func crashData(k int) []byte { return pattern(byte(k*13+1), 4096) }

func crashLine(dir string) string {
	return "s " + filepath.Join(dir, "origin") + " " + filepath.Join(dir, "cache") + " " + crashTable
}

// TestCrashChild is the child of TestCrash: it writes blocks until killed.
func TestCrashChild(t *testing.T) {
	crash.RunChild(t, func(dir string) targets.Target {
		return dmtest.NewTargetEnv[*Writecache](t, dir, New).Create(crashOriginBlocks*8, crashLine(dir))
	})
}

// TestCrash kills a writing writecache with SIGKILL at random moments,
// several times over the same devices, and after each kill builds a new
// table over the cache device it left (as after a reboot): it loads, every
// flushed write reads back, and every block reads either its one logged
// write or zeros.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns children")
	}
	e := newEnv(t)
	e.Sparse("origin", crashOriginBlocks*4096)
	e.Sparse("cache", 256<<10)
	crash.Run(t, e.Dir, func(round int, log *dmtest.CrashLog) {
		w, err := e.Build(crashOriginBlocks*8, crashLine(e.Dir))
		if err != nil {
			t.Fatalf("round %d: the cache device left by the kill does not load: %v", round, err)
		}
		w.Resume()
		if s := status(w); s[0] != "0" {
			t.Fatalf("round %d: status %v after loading", round, s)
		}
		buf := dmtest.ReadAt(t, w, 0, crashOriginBlocks*4096)
		for b := 0; b < crashOriginBlocks; b++ {
			if err := crash.CheckKey(log, uint64(b), buf[b*4096:b*4096+4096]); err != nil {
				t.Fatalf("round %d: block %d: %v", round, b, err)
			}
		}
		t.Logf("round %d: %d writes logged, %d flushed, status %s", round, log.Next, len(log.Durable), w.Status())
		e.EndProcess(w)
	})
}

package integrity

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
)

// The crash test's device: 4 MiB, mode J with a journal of 3 sections
// (a third of the blocks each child writes) so that commits, writeback
// and the journal's wrap all happen under the kills. Its children write
// blocks, a flush every 4 writes.
const (
	crashBlocks = 512
	crashTable  = "J 3 internal_hash:crc32c journal_sectors:540 journal_watermark:60"
)

var crash = &dmtest.CrashTest{
	ChildTest: "TestCrashChild", Env: "GDMSETUP_INTEGRITY_CRASH_CHILD",
	Keys: crashBlocks, KeySectors: 8, Data: crashData, FlushEvery: 4, Pause: 200 * time.Microsecond,
	Rounds: 6, KillMin: 20 * time.Millisecond, KillMax: 100 * time.Millisecond,
}

func crashData(k int) []byte { return pattern(byte(k*13+1), 4096) }

func crashLine(dir string) string { return filepath.Join(dir, "dev") + " 0 - " + crashTable }

// TestCrashChild is the child of TestCrash: it writes blocks until killed.
func TestCrashChild(t *testing.T) {
	crash.RunChild(t, func(dir string) targets.Target {
		return envIn(t, dir).Create(crashBlocks*8, crashLine(dir))
	})
}

// TestCrash kills a writing mode J device with SIGKILL at random moments,
// several times over the same device, and after each kill builds a new
// table over what it left (as after a reboot): the journal replays, every
// block reads without a checksum error, every flushed write reads back,
// and every block reads its one logged write or zeros.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns children")
	}
	e := newEnv(t)
	e.Sparse("dev", 4<<20)
	// tags for the zeros everywhere: a block never written reads
	x := e.Create(crashBlocks*8, crashLine(e.Dir))
	rebuildWith(t, e, x, "J 3 internal_hash:crc32c journal_sectors:540 recalculate")
	crash.Run(t, e.Dir, func(round int, log *dmtest.CrashLog) {
		x, err := e.Build(crashBlocks*8, crashLine(e.Dir))
		if err != nil {
			t.Fatalf("round %d: the device left by the kill does not load: %v", round, err)
		}
		x.Resume()
		got := make([]byte, 4096)
		for b := uint64(0); b < crashBlocks; b++ {
			if err := x.ReadAt(got, b*8); err != nil {
				t.Fatalf("round %d: block %d: %v (%v)", round, b, err, e.TakeLog())
			}
			if err := crash.CheckKey(log, b, got); err != nil {
				t.Fatalf("round %d: block %d: %v", round, b, err)
			}
		}
		if x.failed != 0 {
			t.Fatalf("round %d: failed %v: %v", round, x.failed, e.TakeLog())
		}
		t.Logf("round %d: %d writes logged, %d flushed, status %s", round, log.Next, len(log.Durable), x.Status())
		e.EndProcess(x)
	})
}

// rebuildWith removes x and creates a table with other arguments over the
// same device, run until its recalculation ends.
func rebuildWith(t *testing.T, e *env, x *Integrity, args string) *Integrity {
	t.Helper()
	e.Remove(x)
	x = e.Create(x.ctx.Len, filepath.Join(e.Dir, "dev")+" 0 - "+args)
	x.StopBackground()
	if x.recalcPending() {
		t.Fatal("recalculation did not end")
	}
	e.Remove(x)
	return x
}

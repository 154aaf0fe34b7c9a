package integrity

import (
	"bytes"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// The crash test's device: 4 MiB, mode J with a journal of 3 sections
// (a third of the blocks each child writes) so that commits, writeback
// and the journal's wrap all happen under the kills.
const (
	crashBlocks = 512
	crashEnv    = "GDMSETUP_INTEGRITY_CRASH_CHILD"
	crashTable  = "J 3 internal_hash:crc32c journal_sectors:540 journal_watermark:60"
)

func crashData(k int) []byte { return pattern(byte(k*13+1), 4096) }

func crashLine(dir string) string { return filepath.Join(dir, "dev") + " 0 - " + crashTable }

// TestCrashChild is the child of TestCrash: it writes blocks until
// killed, logging each write and flush (keys are blocks).
func TestCrashChild(t *testing.T) {
	dir, first, ok := dmtest.CrashChildArgs(crashEnv)
	if !ok {
		t.Skip("run by TestCrash")
	}
	e := &env{Direct: dmtest.NewDirect(t), t: t, dir: dir}
	log := dmtest.OpenCrashLog(t, dir, first)
	x := e.create(crashBlocks*8, crashLine(dir))
	log.Started(t)
	perm := rand.New(rand.NewPCG(7, 7)).Perm(crashBlocks)
	for k := first; k < crashBlocks; k++ {
		b := perm[k]
		log.Write(k, uint64(b))
		if err := x.WriteAt(crashData(k), uint64(b)*8); err != nil {
			t.Fatal(err)
		}
		if k%4 == 3 {
			if err := x.Flush(); err != nil {
				t.Fatal(err)
			}
			log.Flushed(k + 1)
		}
		time.Sleep(200 * time.Microsecond)
	}
	select {}
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
	e.sparse("dev", 4<<20)
	// tags for the zeros everywhere: a block never written reads
	x := e.create(crashBlocks*8, crashLine(e.dir))
	rebuildWith(t, e, x, "J 3 internal_hash:crc32c journal_sectors:540 recalculate")
	rng := rand.New(rand.NewPCG(42, 42))
	var log *dmtest.CrashLog
	next := 0
	for round := 0; round < 6; round++ {
		child := dmtest.StartCrashChild(t, "TestCrashChild", crashEnv, e.dir, next)
		time.Sleep(time.Duration(20+rng.IntN(80)) * time.Millisecond)
		child.Kill()
		log = dmtest.ReadCrashLog(t, e.dir)
		next = log.Next

		x, err := e.build(crashBlocks*8, crashLine(e.dir))
		if err != nil {
			t.Fatalf("round %d: the device left by the kill does not load: %v", round, err)
		}
		x.Resume()
		buf := make([]byte, crashBlocks*4096)
		for b := 0; b < crashBlocks; b++ {
			got := buf[b*4096 : b*4096+4096]
			if err := x.ReadAt(got, uint64(b)*8); err != nil {
				t.Fatalf("round %d: block %d: %v (%v)", round, b, err, e.TakeLog())
			}
			k, ok := log.Written[uint64(b)]
			switch {
			case ok && bytes.Equal(got, crashData(k)):
			case ok && log.Durable[k]:
				t.Fatalf("round %d: flushed write %d to block %d lost", round, k, b)
			case !bytes.Equal(got, make([]byte, 4096)):
				t.Fatalf("round %d: block %d holds neither its write nor zeros", round, b)
			}
		}
		if x.failed != 0 {
			t.Fatalf("round %d: failed %v: %v", round, x.failed, e.TakeLog())
		}
		t.Logf("round %d: %d writes logged, %d flushed, status %s", round, next, len(log.Durable), x.Status())
		e.endProcess(x)
	}
	if len(log.Durable) == 0 {
		t.Fatalf("the children flushed no write (%d logged): nothing was checked", next)
	}
}

// rebuildWith removes x and creates a table with other arguments over the
// same device, run until its recalculation ends.
func rebuildWith(t *testing.T, e *env, x *Integrity, args string) *Integrity {
	t.Helper()
	e.remove(x)
	x = e.create(x.ctx.Len, filepath.Join(e.dir, "dev")+" 0 - "+args)
	x.StopBackground()
	if x.recalcPending() {
		t.Fatal("recalculation did not end")
	}
	e.remove(x)
	return x
}

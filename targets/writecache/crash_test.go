package writecache

import (
	"bytes"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// The crash test's devices: a 16 MiB origin (4096 blocks) and a 256 KiB
// cache device (63 blocks) that writeback keeps between its watermarks.
const (
	crashOriginBlocks = 4096
	crashEnv          = "GDMSETUP_WRITECACHE_CRASH_CHILD"
	crashTable        = "4096 6 high_watermark 30 low_watermark 10 pause_writeback 0"
)

func crashData(k int) []byte { return pattern(byte(k*13+1), 4096)[:4096] }

func crashLine(dir string) string {
	return "s " + filepath.Join(dir, "origin") + " " + filepath.Join(dir, "cache") + " " + crashTable
}

// TestCrashChild is the child of TestCrash: it writes blocks until killed,
// logging each write and flush (dmtest.CrashLogger; keys are blocks).
func TestCrashChild(t *testing.T) {
	dir, first, ok := dmtest.CrashChildArgs(crashEnv)
	if !ok {
		t.Skip("run by TestCrash")
	}
	e := &env{Direct: dmtest.NewDirect(t), t: t, dir: dir}
	log := dmtest.OpenCrashLog(t, dir, first)
	w := e.create(crashOriginBlocks*8, crashLine(dir))
	log.Started(t)
	// one permutation for every child: no block is written twice
	perm := rand.New(rand.NewPCG(7, 7)).Perm(crashOriginBlocks)
	for k := first; k < crashOriginBlocks; k++ {
		b := perm[k]
		log.Write(k, uint64(b))
		if err := w.WriteAt(crashData(k), uint64(b)*8); err != nil {
			t.Fatal(err)
		}
		if k%4 == 3 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			log.Flushed(k + 1)
		}
		time.Sleep(100 * time.Microsecond)
	}
	select {}
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
	e.sparse("origin", crashOriginBlocks*4096)
	e.sparse("cache", 256<<10)
	rng := rand.New(rand.NewPCG(42, 42))
	var log *dmtest.CrashLog
	next := 0
	for round := 0; round < 5; round++ {
		child := dmtest.StartCrashChild(t, "TestCrashChild", crashEnv, e.dir, next)
		time.Sleep(time.Duration(20+rng.IntN(60)) * time.Millisecond)
		child.Kill()
		log = dmtest.ReadCrashLog(t, e.dir)
		next = log.Next

		w, err := e.build(crashOriginBlocks*8, crashLine(e.dir))
		if err != nil {
			t.Fatalf("round %d: the cache device left by the kill does not load: %v", round, err)
		}
		w.Resume()
		if s := status(w); s[0] != "0" {
			t.Fatalf("round %d: status %v after loading", round, s)
		}
		buf := make([]byte, crashOriginBlocks*4096)
		if err := w.ReadAt(buf, 0); err != nil {
			t.Fatal(err)
		}
		for b := 0; b < crashOriginBlocks; b++ {
			got := buf[b*4096 : b*4096+4096]
			k, ok := log.Written[uint64(b)]
			switch {
			case ok && bytes.Equal(got, crashData(k)):
			case ok && log.Durable[k]:
				t.Fatalf("round %d: flushed write %d to block %d lost", round, k, b)
			case !bytes.Equal(got, make([]byte, 4096)):
				t.Fatalf("round %d: block %d holds neither its write nor zeros", round, b)
			}
		}
		t.Logf("round %d: %d writes logged, %d flushed, status %s", round, next, len(log.Durable), w.Status())
		e.endProcess(w)
	}
	if len(log.Durable) == 0 {
		t.Fatalf("the children flushed no write (%d logged): nothing was checked", next)
	}
}

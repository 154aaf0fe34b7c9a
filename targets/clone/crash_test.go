package clone

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
)

// The crash test's devices: 16384 regions of 8 sectors. Its children
// write sectors, a flush every 8 writes.
const (
	crashSize    = 64 << 20
	crashSectors = crashSize / 512
)

var crash = &dmtest.CrashTest{
	ChildTest: "TestCrashChild", Env: "GDMSETUP_CLONE_CRASH_CHILD",
	Keys: crashSectors, KeySectors: 1, Data: func(k int) []byte { return writeData(k, 512) }, FlushEvery: 8,
	Pause: 50 * time.Microsecond, Rounds: 6, KillMax: 40 * time.Millisecond,
}

// TestCrashChild is the child of TestCrash: it hydrates and writes until
// killed.
func TestCrashChild(t *testing.T) {
	crash.RunChild(t, func(dir string) targets.Target {
		e := envIn(t, dir, 1)
		return e.mustBuild(crashSectors, e.Path("meta")+" "+e.Path("dest")+" "+e.Path("src")+" 8")
	})
}

// TestCrash kills a hydrating, writing clone with SIGKILL at random
// moments, several times over the same devices, and after each kill
// checks the metadata it left: a region marked hydrated holds the source
// (or a logged write) in every sector, and every flushed write reads back.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns children")
	}
	e := newEnv(t)
	e.Sparse("meta", 4<<20)
	e.Sparse("dest", crashSize)
	e.source("src", crashSize)
	src := sourceBytes(0, crashSize)
	sawPartial := false
	crash.Run(t, e.Dir, func(round int, log *dmtest.CrashLog) {
		c := e.mustBuild(crashSectors, e.Path("meta")+" "+e.Path("dest")+" "+e.Path("src")+" 8 1 no_hydration")
		c.mu.Lock()
		bitmap := append([]uint64(nil), c.bitmap...)
		n := c.nrHydrated
		c.mu.Unlock()
		if n > 0 && n < c.nrRegions {
			sawPartial = true
		}
		dest, _ := os.ReadFile(e.Path("dest"))
		for r := uint64(0); r < c.nrRegions; r++ {
			if bitmap[r/64]&(1<<(r%64)) == 0 {
				continue
			}
			for s := r * 8; s < r*8+8; s++ {
				got := dest[s*512 : s*512+512]
				if bytes.Equal(got, src[s*512:s*512+512]) {
					continue
				}
				if k, ok := log.Written[s]; ok && bytes.Equal(got, writeData(k, 512)) {
					continue
				}
				t.Fatalf("round %d: region %d marked hydrated but sector %d holds neither the source nor a write", round, r, s)
			}
		}
		buf := make([]byte, 512)
		for s, k := range log.Written {
			if !log.Durable[k] {
				continue
			}
			if err := c.ReadAt(buf, s); err != nil || !bytes.Equal(buf, writeData(k, 512)) {
				t.Fatalf("round %d: flushed write %d at sector %d lost (%v)", round, k, s, err)
			}
		}
		t.Logf("round %d: %d/%d regions hydrated, %d writes logged, %d flushed", round, n, c.nrRegions, log.Next, len(log.Durable))
		c.Close()
	})
	if !sawPartial {
		t.Log("no kill landed in the middle of hydration")
	}
}

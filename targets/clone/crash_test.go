package clone

import (
	"bytes"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// The crash test's devices: 16384 regions of 8 sectors.
const (
	crashSize    = 64 << 20
	crashSectors = crashSize / 512
	crashEnv     = "GDMSETUP_CLONE_CRASH_CHILD"
)

// TestCrashChild is the child of TestCrash: it hydrates and writes until
// killed, logging each write and flush (dmtest.CrashLogger; keys are
// sectors).
func TestCrashChild(t *testing.T) {
	dir, first, ok := dmtest.CrashChildArgs(crashEnv)
	if !ok {
		t.Skip("run by TestCrash")
	}
	e := &env{Direct: dmtest.NewDirect(t), t: t, dir: dir, events: make(chan struct{}, 1)}
	log := dmtest.OpenCrashLog(t, dir, first)
	c := e.mustBuild(crashSectors, e.path("meta")+" "+e.path("dest")+" "+e.path("src")+" 8")
	log.Started(t)
	// one permutation for every child: no sector is written twice
	perm := rand.New(rand.NewPCG(7, 7)).Perm(crashSectors)
	for k := first; k < crashSectors; k++ {
		s := uint64(perm[k])
		log.Write(k, s)
		if err := c.WriteAt(writeData(k, 512), s); err != nil {
			t.Fatal(err)
		}
		if k%8 == 7 {
			if err := c.Flush(); err != nil {
				t.Fatal(err)
			}
			log.Flushed(k + 1)
		}
		time.Sleep(50 * time.Microsecond)
	}
	select {}
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
	e.sparse("meta", 4<<20)
	e.sparse("dest", crashSize)
	e.source("src", crashSize)
	src := sourceBytes(0, crashSize)
	rng := rand.New(rand.NewPCG(42, 42))
	var log *dmtest.CrashLog
	next := 0
	sawPartial := false
	for round := 0; round < 6; round++ {
		child := dmtest.StartCrashChild(t, "TestCrashChild", crashEnv, e.dir, next)
		time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
		child.Kill()
		log = dmtest.ReadCrashLog(t, e.dir)
		next = log.Next

		c := e.mustBuild(crashSectors, e.path("meta")+" "+e.path("dest")+" "+e.path("src")+" 8 1 no_hydration")
		c.mu.Lock()
		bitmap := append([]uint64(nil), c.bitmap...)
		n := c.nrHydrated
		c.mu.Unlock()
		if n > 0 && n < c.nrRegions {
			sawPartial = true
		}
		dest, _ := os.ReadFile(e.path("dest"))
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
		t.Logf("round %d: %d/%d regions hydrated, %d writes logged, %d flushed", round, n, c.nrRegions, next, len(log.Durable))
		c.Close()
	}
	if len(log.Durable) == 0 {
		t.Fatalf("the children flushed no write in 6 rounds (%d logged): nothing was checked", next)
	}
	if !sawPartial {
		t.Log("no kill landed in the middle of hydration")
	}
}

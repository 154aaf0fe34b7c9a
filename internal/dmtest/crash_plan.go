package dmtest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/targets"
)

// CrashTest is the plan of a crash test (see StartCrashChild) whose
// children write Keys keys (blocks or sectors) of a target, each key once,
// in one random order every child shares, a flush after every FlushEvery
// writes: the parent test calls Run, the child test RunChild. Its fields
// are set before use and not changed after.
type CrashTest struct {
	ChildTest  string             // the name of the child's test (TestCrashChild)
	Env        string             // the environment variable that makes it run as a child
	Keys       int                // how many keys the children write
	KeySectors uint64             // the sectors of a key
	Data       func(k int) []byte // what write number k writes: KeySectors of bytes
	FlushEvery int                // a flush after every FlushEvery writes
	Pause      time.Duration      // between two writes of a child
	Rounds     int                // how many children Run starts and kills
	// A child is killed at a random moment in [KillMin, KillMax) after it
	// started, counted in whole milliseconds; KillMax > KillMin.
	KillMin, KillMax time.Duration
}

// RunChild is the child test's body: unless the test runs as a child of
// Run it is skipped. It builds the target with open (over the parent's
// directory) and writes, logging each write and flush, until it is killed.
func (c *CrashTest) RunChild(t *testing.T, open func(dir string) targets.Target) {
	dir, first, ok := CrashChildArgs(c.Env)
	if !ok {
		t.Skip("run by the crash test as its child")
	}
	log := OpenCrashLog(t, dir, first)
	tg := open(dir)
	log.Started(t)
	perm := rand.New(rand.NewPCG(7, 7)).Perm(c.Keys)
	for k := first; k < c.Keys; k++ {
		key := uint64(perm[k])
		log.Write(k, key)
		if err := tg.WriteAt(c.Data(k), key*c.KeySectors); err != nil {
			t.Fatalf("write %d at sector %d: %v", k, key*c.KeySectors, err)
		}
		if k%c.FlushEvery == c.FlushEvery-1 {
			if err := tg.Flush(); err != nil {
				t.Fatalf("flush after write %d: %v", k, err)
			}
			log.Flushed(k + 1)
		}
		time.Sleep(c.Pause)
	}
	select {}
}

// Run starts Rounds children one after the other over dir, each taking up
// the writes where the last one's log ends, kills each with SIGKILL at a
// random moment and then calls check with the log so far. It fails the
// test when no child flushed a write: nothing would have been checked.
func (c *CrashTest) Run(t *testing.T, dir string, check func(round int, log *CrashLog)) {
	t.Helper()
	rng := rand.New(rand.NewPCG(42, 42))
	log := &CrashLog{}
	for round := 0; round < c.Rounds; round++ {
		child := StartCrashChild(t, c.ChildTest, c.Env, dir, log.Next)
		spreadMs := int((c.KillMax - c.KillMin) / time.Millisecond)
		time.Sleep(c.KillMin + time.Duration(rng.IntN(spreadMs))*time.Millisecond)
		child.Kill()
		log = ReadCrashLog(t, dir)
		check(round, log)
	}
	if len(log.Durable) == 0 {
		t.Fatalf("the children flushed no write in %d rounds (%d logged): nothing was checked", c.Rounds, log.Next)
	}
}

// CheckKey says whether got, what key reads after a kill, is what log
// allows when nothing but the children wrote the key since it was zeros:
// its one logged write, or zeros when that write was not flushed (or
// there is none).
func (c *CrashTest) CheckKey(log *CrashLog, key uint64, got []byte) error {
	k, ok := log.Written[key]
	switch {
	case ok && bytes.Equal(got, c.Data(k)):
	case ok && log.Durable[k]:
		return fmt.Errorf("flushed write %d to sector %d lost", k, key*c.KeySectors)
	case !bytes.Equal(got, make([]byte, len(got))):
		return fmt.Errorf("sector %d holds neither its write nor zeros", key*c.KeySectors)
	}
	return nil
}

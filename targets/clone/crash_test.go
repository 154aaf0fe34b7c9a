package clone

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
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
// killed, logging each write before it starts ("W k sector") and each
// completed flush ("F first k": its writes first..k-1 are durable).
func TestCrashChild(t *testing.T) {
	spec := os.Getenv(crashEnv)
	if spec == "" {
		t.Skip("run by TestCrash")
	}
	var dir string
	var first int
	fmt.Sscanf(spec, "%s %d", &dir, &first)
	e := &env{Direct: dmtest.NewDirect(t), t: t, dir: dir, events: make(chan struct{}, 1)}
	logf, err := os.OpenFile(e.path("log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	c := e.mustBuild(crashSectors, e.path("meta")+" "+e.path("dest")+" "+e.path("src")+" 8")
	if err := os.WriteFile(e.path("started"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// one permutation for every child: no sector is written twice
	perm := rand.New(rand.NewPCG(7, 7)).Perm(crashSectors)
	for k := first; k < crashSectors; k++ {
		s := uint64(perm[k])
		fmt.Fprintf(logf, "W %d %d\n", k, s)
		if err := c.WriteAt(writeData(k, 512), s); err != nil {
			t.Fatal(err)
		}
		if k%8 == 7 {
			if err := c.Flush(); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(logf, "F %d %d\n", first, k+1)
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
	next := 0
	written := map[uint64]int{} // sector -> the one write logged for it
	durable := map[int]bool{}   // writes a flush of their own child covered
	sawPartial := false
	for round := 0; round < 6; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d", crashEnv, e.dir, next))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		waitStarted(t, e.path("started"), exited, &out)
		time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		<-exited

		// read the log the children left
		f, err := os.Open(e.path("log"))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			w := strings.Fields(sc.Text())
			if len(w) == 3 && w[0] == "W" {
				k, _ := strconv.Atoi(w[1])
				s, _ := strconv.ParseUint(w[2], 10, 64)
				written[s] = k
				next = max(next, k+1)
			} else if len(w) == 3 && w[0] == "F" {
				from, _ := strconv.Atoi(w[1])
				to, _ := strconv.Atoi(w[2])
				for k := from; k < to; k++ {
					durable[k] = true
				}
			}
		}
		f.Close()

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
				if k, ok := written[s]; ok && bytes.Equal(got, writeData(k, 512)) {
					continue
				}
				t.Fatalf("round %d: region %d marked hydrated but sector %d holds neither the source nor a write", round, r, s)
			}
		}
		buf := make([]byte, 512)
		for s, k := range written {
			if !durable[k] {
				continue
			}
			if err := c.ReadAt(buf, s); err != nil || !bytes.Equal(buf, writeData(k, 512)) {
				t.Fatalf("round %d: flushed write %d at sector %d lost (%v)", round, k, s, err)
			}
		}
		t.Logf("round %d: %d/%d regions hydrated, %d writes logged, %d flushed", round, n, c.nrRegions, next, len(durable))
		c.Close()
	}
	if len(durable) == 0 {
		t.Fatalf("the children flushed no write in 6 rounds (%d logged): nothing was checked", next)
	}
	if !sawPartial {
		t.Log("no kill landed in the middle of hydration")
	}
}

// waitStarted waits for a child to create the file started (and removes
// it), failing at once with the child's output if the child exits first,
// and after 30 s.
func waitStarted(t *testing.T, started string, exited <-chan error, out *bytes.Buffer) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for os.Remove(started) != nil {
		select {
		case err := <-exited:
			t.Fatalf("the child exited before it started (%v):\n%s", err, out)
		case <-deadline:
			t.Fatalf("the child did not start in 30 s:\n%s", out)
		case <-time.After(time.Millisecond):
		}
	}
}

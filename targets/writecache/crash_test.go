package writecache

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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
// logging each write before it starts ("W k block") and each completed
// flush ("F first k": its writes first..k-1 are durable).
func TestCrashChild(t *testing.T) {
	spec := os.Getenv(crashEnv)
	if spec == "" {
		t.Skip("run by TestCrash")
	}
	var dir string
	var first int
	fmt.Sscanf(spec, "%s %d", &dir, &first)
	e := &env{Direct: dmtest.NewDirect(t), t: t, dir: dir}
	logf, err := os.OpenFile(filepath.Join(dir, "log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	w := e.create(crashOriginBlocks*8, crashLine(dir))
	if err := os.WriteFile(filepath.Join(dir, "started"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// one permutation for every child: no block is written twice
	perm := rand.New(rand.NewPCG(7, 7)).Perm(crashOriginBlocks)
	for k := first; k < crashOriginBlocks; k++ {
		b := perm[k]
		fmt.Fprintf(logf, "W %d %d\n", k, b)
		if err := w.WriteAt(crashData(k), uint64(b)*8); err != nil {
			t.Fatal(err)
		}
		if k%4 == 3 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(logf, "F %d %d\n", first, k+1)
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
	next := 0
	written := map[int]int{} // block -> the one write logged for it
	durable := map[int]bool{}
	for round := 0; round < 5; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d", crashEnv, e.dir, next))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		waitStarted(t, filepath.Join(e.dir, "started"), exited, &out)
		time.Sleep(time.Duration(20+rng.IntN(60)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		<-exited

		f, err := os.Open(filepath.Join(e.dir, "log"))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			w := strings.Fields(sc.Text())
			if len(w) == 3 && w[0] == "W" {
				k, _ := strconv.Atoi(w[1])
				b, _ := strconv.Atoi(w[2])
				written[b] = k
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
			k, ok := written[b]
			switch {
			case ok && bytes.Equal(got, crashData(k)):
			case ok && durable[k]:
				t.Fatalf("round %d: flushed write %d to block %d lost", round, k, b)
			case !bytes.Equal(got, make([]byte, 4096)):
				t.Fatalf("round %d: block %d holds neither its write nor zeros", round, b)
			}
		}
		t.Logf("round %d: %d writes logged, %d flushed, status %s", round, next, len(durable), w.Status())
		e.endProcess(w)
	}
	if len(durable) == 0 {
		t.Fatalf("the children flushed no write (%d logged): nothing was checked", next)
	}
}

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

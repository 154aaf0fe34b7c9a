package snapshot_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets/snapshot"
)

// mergeChunks is how many exceptions the background merge tests make, one
// chunk (4 KiB) each, none consecutive with the next: each is a batch of
// its own, and with the origin's writes and flushes delayed by
// mergeDelayMs, the merge takes over a second.
const (
	mergeChunks  = 150
	mergeDelayMs = 5
)

// slowMerge sets up a merge: a snapshot s of lbase (over the file base)
// with mergeChunks exceptions from origin writes to every other chunk,
// and two snapshot writes; lbase reloaded as a delay device (writes and
// flushes mergeDelayMs late); the origin suspended and loaded with
// snapshot-merge over s's COW device, s suspended. It returns what the
// origin reads once merged: the snapshot's view.
func slowMerge(t *testing.T) (*rig, []byte) {
	g := newRig(t)
	g.File("cow", 2<<20, false)
	g.stack([2]string{"s", "cow P 8"})
	for i := 0; i < mergeChunks; i++ {
		g.mustWrite("origin", int64(2*i)*4096, dmtest.Random(4096))
	}
	g.mustWrite("s", 400*4096, dmtest.Random(8192))
	g.mustWrite("s", 500*4096+512, dmtest.Random(512))
	want := g.mustRead("s", 0, baseBytes)
	delay := fmt.Sprintf("base 0 0 base 0 %d", mergeDelayMs)
	for _, step := range []func() error{
		func() error {
			return g.Reg.Load("lbase", []dm.TargetLine{{Len: baseBytes / 512, Type: "delay", Args: g.Args(delay)}})
		},
		func() error { return g.Reg.Resume("lbase") },
		func() error { return g.Reg.Suspend("origin") },
		func() error { return g.Reg.Suspend("s") },
		func() error {
			return g.Reg.Load("origin", []dm.TargetLine{{Len: baseBytes / 512, Type: "snapshot-merge", Args: g.Args("/dev/mapper/lbase cow P 8")}})
		},
	} {
		if err := step(); err != nil {
			t.Fatalf("%v\n%s", err, g.Klog.String())
		}
	}
	return g, want
}

// mergeUsage parses a snapshot-merge status "<allocated>/<total> <metadata>".
func mergeUsage(t *testing.T, status string) (allocated, metadata uint64) {
	t.Helper()
	var total uint64
	if _, err := fmt.Sscanf(status, "%d/%d %d", &allocated, &total, &metadata); err != nil {
		t.Fatalf("merge status %q: %v", status, err)
	}
	return allocated, metadata
}

// waitMerge polls the origin's status until the merge is over (allocated
// down to the metadata), failing after 30 s, and returns the allocated
// sectors seen on the way, in order.
func waitMerge(t *testing.T, g *rig) []uint64 {
	t.Helper()
	var seen []uint64
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		a, m := mergeUsage(t, g.status("origin"))
		if len(seen) == 0 || seen[len(seen)-1] != a {
			seen = append(seen, a)
		}
		if a == m {
			return seen
		}
		if time.Now().After(deadline) {
			t.Fatalf("merge not over after 30 s: allocated %v\n%s", seen, g.Klog.String())
		}
	}
}

// resumeMerge resumes the origin of slowMerge's stack, which starts the
// merge, and returns the sectors the snapshot had allocated before it.
func resumeMerge(t *testing.T, g *rig) uint64 {
	t.Helper()
	start := uint64(len(readCOW(t, g.Path("cow")).exceptions)+2) * 8
	if err := g.Reg.Resume("origin"); err != nil {
		t.Fatalf("%v\n%s", err, g.Klog.String())
	}
	return start
}

// waitMidway polls the origin's status until the merge has merged some
// chunks but not all, and returns the COW sectors still allocated.
func waitMidway(t *testing.T, g *rig, startAllocated uint64) uint64 {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		a, m := mergeUsage(t, g.status("origin"))
		if a < startAllocated-8*10 && a > m+8*10 {
			return a
		}
		if a == m {
			t.Fatal("the merge was over before it was seen half-way")
		}
	}
	t.Fatal("the merge made no progress in 30 s")
	return 0
}

// TestMergeInBackground: the resume returns at once and the merge goes on
// in the background: status shows the allocated sectors shrinking batch
// by batch down to the metadata's; meanwhile the origin reads as merged
// (merged chunks from the origin, the rest from the COW device) and
// writes land where they must (a chunk not yet merged on the COW device,
// merged later; one merged or without exception on the origin), so the
// merged origin holds the snapshot's data with those writes.
func TestMergeInBackground(t *testing.T) {
	g, want := slowMerge(t)
	began := time.Now()
	start := resumeMerge(t, g)
	if d := time.Since(began); d > time.Duration(mergeChunks*mergeDelayMs)*time.Millisecond {
		t.Errorf("the resume took %v: it waited for the merge", d)
	}
	waitMidway(t, g, start)
	dmtest.MustEqual(t, "the origin half-way through the merge", g.mustRead("origin", 0, baseBytes), want)
	for _, off := range []int64{2 * 4096, 2 * (mergeChunks - 1) * 4096, 4096, 400*4096 + 1024} {
		p := dmtest.Random(3072)
		g.mustWrite("origin", off, p)
		copy(want[off:], p)
	}
	dmtest.MustEqual(t, "the origin written half-way through the merge", g.mustRead("origin", 0, baseBytes), want)
	seen := waitMerge(t, g)
	if len(seen) < 3 {
		t.Errorf("allocated sectors seen %v: no progress between", seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] > seen[i-1] {
			t.Fatalf("allocated sectors grew during the merge: %v", seen)
		}
	}
	if got := g.status("origin"); got != "16/4096 16" {
		t.Errorf("status after the merge %q", got)
	}
	dmtest.MustEqual(t, "the merged origin", g.mustRead("origin", 0, baseBytes), want)
	base, _ := os.ReadFile(g.Path("base"))
	dmtest.MustEqual(t, "the origin's file", base, want)
	if n := len(readCOW(t, g.Path("cow")).exceptions); n != 0 {
		t.Errorf("%d exceptions left on the COW device", n)
	}
	if strings.Contains(g.Klog.String(), "merge") {
		t.Errorf("kernel log:\n%s", g.Klog.String())
	}
}

// TestMergeStopsAndGoesOn: a suspend stops the merge (nothing changes on
// the COW device while the device is suspended) and the resume starts it
// again; the end of a process stops it with the progress on the COW
// device, nothing merges while no process holds the table, and the next
// process that builds it goes on (here a suspend, which stops it again,
// then a resume, which goes on to the end).
func TestMergeStopsAndGoesOn(t *testing.T) {
	defer snapshot.SetMergeGrace(0)()
	g, want := slowMerge(t)
	waitMidway(t, g, resumeMerge(t, g))
	if err := g.Reg.Suspend("origin"); err != nil {
		t.Fatal(err)
	}
	left := stableExceptions(t, g)
	if err := g.Reg.Resume("origin"); err != nil {
		t.Fatal(err)
	}
	waitMidway(t, g, uint64(left+2)*8)
	g.Reopen()
	left2 := stableExceptions(t, g)
	if left2 >= left || left2 == 0 {
		t.Fatalf("exceptions on the COW device: %d when suspended, %d when the process ended", left, left2)
	}
	// a process suspending the device builds its table, which starts
	// the unfinished merge: the suspend stops it
	if err := g.Reg.Suspend("origin"); err != nil {
		t.Fatal(err)
	}
	stableExceptions(t, g)
	g.Reopen()
	stableExceptions(t, g)
	if err := g.Reg.Resume("origin"); err != nil {
		t.Fatal(err)
	}
	waitMerge(t, g)
	dmtest.MustEqual(t, "the merged origin", g.mustRead("origin", 0, baseBytes), want)
	if n := len(readCOW(t, g.Path("cow")).exceptions); n != 0 {
		t.Errorf("%d exceptions left on the COW device", n)
	}
}

// stableExceptions returns the exceptions on the COW device once they
// stayed the same for 50 ms (several batches' time), failing the test if
// the count moves.
func stableExceptions(t *testing.T, g *rig) int {
	t.Helper()
	n := len(readCOW(t, g.Path("cow")).exceptions)
	time.Sleep(50 * time.Millisecond)
	if m := len(readCOW(t, g.Path("cow")).exceptions); m != n {
		t.Fatalf("the merge went on: %d exceptions, then %d", n, m)
	}
	return n
}

// mergeChildEnv names the state directory a TestMergeKilled child merges in.
const mergeChildEnv = "GDMSETUP_TEST_MERGE_CHILD"

// TestMergeKilled: a process merging is killed with SIGKILL half-way (no
// close, no saved state): the next process goes on from the last batch
// committed on the COW device, and the origin ends as the snapshot was.
func TestMergeKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	defer snapshot.SetMergeGrace(0)()
	g, want := slowMerge(t)
	if err := g.Reg.Resume("origin"); err != nil {
		t.Fatalf("%v\n%s", err, g.Klog.String())
	}
	if err := g.Reg.Close(); err != nil {
		t.Fatal(err)
	}
	g.Reg = nil
	before := len(readCOW(t, g.Path("cow")).exceptions)
	cmd := exec.Command(os.Args[0], "-test.run=^TestMergeChild$")
	cmd.Env = append(os.Environ(), mergeChildEnv+"="+g.Dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		n := len(readCOW(t, g.Path("cow")).exceptions)
		if n < before-10 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the child merged nothing in 30 s (%d exceptions of %d)", n, before)
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	after := len(readCOW(t, g.Path("cow")).exceptions)
	if after == 0 {
		t.Fatal("the merge was over before the kill")
	}
	g.Reopen()
	g.Device("origin")
	waitMerge(t, g)
	dmtest.MustEqual(t, "the origin merged after a kill", g.mustRead("origin", 0, baseBytes), want)
	base, _ := os.ReadFile(g.Path("base"))
	dmtest.MustEqual(t, "the origin's file", base, want)
}

// TestMergeChild is TestMergeKilled's child: it builds the merging origin
// in the state directory it is given, so the merge goes on, and waits to
// be killed (it ends by itself after 30 s).
func TestMergeChild(t *testing.T) {
	dir := os.Getenv(mergeChildEnv)
	if dir == "" {
		t.Skip("run by TestMergeKilled")
	}
	reg, err := dm.Open(dir, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := reg.Lookup("origin")
	if !ok {
		t.Fatal("no origin device")
	}
	if err := d.Prepare(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Second)
	os.Exit(1)
}

// TestMergeHeldBySuspendedOrigin: a merge whose copy the suspended device
// under it holds is stopped, not failed, when the process ends (the held
// I/O released): the next process, once that device is resumed, merges
// to the end and status never says "Merge failed".
func TestMergeHeldBySuspendedOrigin(t *testing.T) {
	defer snapshot.SetMergeGrace(0)()
	g, want := slowMerge(t)
	waitMidway(t, g, resumeMerge(t, g))
	if err := g.Reg.Suspend("lbase"); err != nil {
		t.Fatal(err)
	}
	held := stableExceptions(t, g)
	g.Reopen()
	if n := len(readCOW(t, g.Path("cow")).exceptions); n != held {
		t.Fatalf("%d exceptions on the COW device after the end of the process, %d while held", n, held)
	}
	if err := g.Reg.Resume("lbase"); err != nil {
		t.Fatal(err)
	}
	g.Device("origin")
	waitMerge(t, g)
	dmtest.MustEqual(t, "the merged origin", g.mustRead("origin", 0, baseBytes), want)
	if strings.Contains(g.Klog.String(), "merge") {
		t.Errorf("kernel log:\n%s", g.Klog.String())
	}
}

// TestMergeRemoved: removing the merging device stops the merge after the
// batch in flight; what is on the origin and the COW device then is
// consistent: a snapshot table over them reads as the merged origin would.
func TestMergeRemoved(t *testing.T) {
	g, want := slowMerge(t)
	waitMidway(t, g, resumeMerge(t, g))
	if err := g.Reg.Remove("origin"); err != nil {
		t.Fatalf("remove of the merging device: %v\n%s", err, g.Klog.String())
	}
	if stableExceptions(t, g) == 0 {
		t.Fatal("the merge was over")
	}
	for _, n := range []string{"s", "lbase"} {
		if err := g.Reg.Remove(n); err != nil {
			t.Fatal(err)
		}
	}
	g.mustCreate("chk", baseBytes/512, "snapshot", "base cow P 0")
	dmtest.MustEqual(t, "the origin and the COW device of a merge cut off", g.mustRead("chk", 0, baseBytes), want)
}

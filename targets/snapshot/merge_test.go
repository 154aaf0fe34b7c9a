package snapshot_test

import (
	"os"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// TestMerge: a snapshot with exceptions in two metadata areas (runs of
// consecutive chunks and single ones, from origin and snapshot writes),
// merged as lvconvert --merge does, each step its own process: the
// origin then reads as the snapshot did, the COW device holds no
// exception, another snapshot of the origin got its copies first, and
// status shows only the header and one area allocated.
func TestMerge(t *testing.T) {
	g := newRig(t)
	g.File("cow", 2<<20, false)
	g.File("cow2", 2<<20, false)
	g.stack([2]string{"s", "cow P 8"})
	for i := 0; i < 450; i += 3 {
		g.mustWrite("origin", int64(i)*4096, dmtest.Random(8192))
	}
	g.mustWrite("s", 1900<<10, dmtest.Random(3072))
	g.mustWrite("s", 1<<20+512, dmtest.Random(512))
	want := g.mustRead("s", 0, baseBytes)
	before, _ := os.ReadFile(g.Path("base"))
	if n := len(readCOW(t, g.Path("cow")).exceptions); n <= 256 {
		t.Fatalf("only %d exceptions: one area", n)
	}

	g.Reopen()
	if err := g.Reg.Suspend("origin"); err != nil {
		t.Fatal(err)
	}
	g.Reopen()
	merge := []dm.TargetLine{{Len: baseBytes / 512, Type: "snapshot-merge", Args: g.Args("/dev/mapper/lbase cow P 8")}}
	if err := g.Reg.Load("origin", merge); err != nil {
		t.Fatalf("%v\n%s", err, g.Klog.String())
	}
	g.Reopen()
	g.Klog.Reset()
	if err := g.Reg.Resume("origin"); err == nil ||
		!strings.Contains(g.Klog.String(), "device-mapper: snapshots: Unable to perform snapshot handover until source is suspended.\n") {
		t.Fatalf("handover from a running snapshot: %v\n%s", err, g.Klog.String())
	}
	g.Reopen()
	if err := g.Reg.Suspend("s"); err != nil {
		t.Fatal(err)
	}
	// a snapshot of the merging origin made meanwhile gets its copies
	g.mustCreate("s2", baseBytes/512, "snapshot", "/dev/mapper/lbase cow2 P 8")
	g.Reopen()
	if err := g.Reg.Resume("origin"); err != nil {
		t.Fatalf("%v\n%s", err, g.Klog.String())
	}
	g.Reopen()
	dmtest.MustEqual(t, "merged origin", g.mustRead("origin", 0, baseBytes), want)
	dmtest.MustEqual(t, "the other snapshot", g.mustRead("s2", 0, baseBytes), before)
	if got := g.status("origin"); got != "16/4096 16" {
		t.Fatalf("status after the merge %q", got)
	}
	if got := g.status("s"); got != "Invalid" {
		t.Fatalf("the merged snapshot's status %q", got)
	}
	if n := len(readCOW(t, g.Path("cow")).exceptions); n != 0 {
		t.Fatalf("%d exceptions left on the COW device", n)
	}
	p := dmtest.Random(4096)
	g.mustWrite("origin", 0, p)
	dmtest.MustEqual(t, "write after the merge", g.mustRead("origin", 0, 4096), p)
	dmtest.MustEqual(t, "the other snapshot after an origin write", g.mustRead("s2", 0, 4096), before[:4096])

	g.Klog.Reset()
	if err := g.create("t", baseBytes/512, "snapshot-merge", "/dev/mapper/lbase cow2 N 8"); err == nil ||
		!strings.Contains(g.Klog.String(), "snapshot-merge: Snapshot exception store does not support snapshot-merge. (-EINVAL)") {
		t.Fatalf("transient merge: %v\n%s", err, g.Klog.String())
	}
}

package snapshot_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// TestOriginWriteInNewProcess: each step in its own process (a registry
// reopened on the same state directory), as gdmsetup commands run. A
// write through the origin, in a process that builds only the origin's
// table, still copies into every snapshot (persistent, transient, and one
// whose device is suspended); the transient store's exceptions come back
// from saved state; reads of the snapshots in yet another process see the
// old data.
func TestOriginWriteInNewProcess(t *testing.T) {
	g := newRig(t)
	g.File("cow", 512<<10, false)
	g.File("cow2", 512<<10, false)
	g.File("cow3", 512<<10, false)
	before, _ := os.ReadFile(g.Path("base"))
	g.stack([2]string{"p", "cow P 8"}, [2]string{"n", "cow2 N 8"}, [2]string{"q", "cow3 PO 16"})
	if err := g.Reg.Suspend("q"); err != nil {
		t.Fatal(err)
	}

	g.Reopen()
	d, _ := g.Reg.Lookup("origin")
	if err := d.Prepare(); err != nil {
		t.Fatal(err)
	}
	a := dmtest.Random(64 << 10)
	if _, err := d.WriteAt(a, 0); err != nil {
		t.Fatal(err)
	}
	g.Reopen()
	nw := dmtest.Random(4096)
	g.mustWrite("n", 512<<10, nw)

	g.Reopen()
	if err := g.Reg.Resume("q"); err != nil {
		t.Fatal(err)
	}
	dmtest.MustEqual(t, "persistent snapshot", g.mustRead("p", 0, baseBytes), before)
	dmtest.MustEqual(t, "suspended snapshot", g.mustRead("q", 0, baseBytes), before)
	wantN := append([]byte(nil), before...)
	copy(wantN[512<<10:], nw)
	dmtest.MustEqual(t, "transient snapshot", g.mustRead("n", 0, baseBytes), wantN)
	for name, want := range map[string]string{"p": "144/1024 16", "n": "136/1024 0", "q": "160/1024 32"} {
		if got := g.status(name); got != want {
			t.Fatalf("%s status %q, want %q", name, got, want)
		}
	}
}

// TestHandoverAcrossProcesses: a live snapshot reloaded with the same COW
// device in one process (the new table waits, chunk size 0), written
// through the origin in the next, resumed in a third: the new table takes
// the exceptions, transient ones included.
func TestHandoverAcrossProcesses(t *testing.T) {
	g := newRig(t)
	g.File("cow", 512<<10, false)
	g.File("cow2", 512<<10, false)
	before, _ := os.ReadFile(g.Path("base"))
	g.stack([2]string{"p", "cow P 8"}, [2]string{"n", "cow2 N 8"})
	g.mustWrite("origin", 0, dmtest.Random(8192))

	g.Reopen()
	for _, s := range [][2]string{{"p", "cow PO 8"}, {"n", "cow2 N 8"}} {
		if err := g.Reg.Load(s[0], []dm.TargetLine{{Len: baseBytes / 512, Type: "snapshot", Args: g.Args("/dev/mapper/lbase " + s[1])}}); err != nil {
			t.Fatalf("reload %s: %v\n%s", s[0], err, g.Klog.String())
		}
	}
	lines, err := g.Reg.Lines("p", true, false)
	if err != nil || len(lines) != 1 || lines[0].Params != "253:0 "+g.Path("cow")+" PO 0" {
		t.Fatalf("inactive table %v %v", lines, err)
	}

	g.Reopen()
	g.mustWrite("origin", 8192, dmtest.Random(8192))
	g.Reopen()
	if err := g.Reg.Load("p", []dm.TargetLine{{Len: baseBytes / 512, Type: "snapshot", Args: g.Args("/dev/mapper/lbase cow P 8")}}); err == nil {
		t.Fatal("a second waiting handover accepted")
	}
	g.Reopen()
	for _, name := range []string{"p", "n"} {
		if err := g.Reg.Resume(name); err != nil {
			t.Fatalf("resume %s: %v\n%s", name, err, g.Klog.String())
		}
	}
	g.Reopen()
	if got, want := g.Line("p", false), "253:0 "+g.Path("cow")+" PO 8"; got != want {
		t.Fatalf("table %q, want %q", got, want)
	}
	for name, want := range map[string]string{"p": "48/1024 16", "n": "32/1024 0"} {
		if got := g.status(name); got != want {
			t.Fatalf("%s status %q, want %q", name, got, want)
		}
		dmtest.MustEqual(t, name, g.mustRead(name, 0, baseBytes), before)
	}
	g.mustWrite("origin", 16384, dmtest.Random(4096))
	dmtest.MustEqual(t, "p after the handover", g.mustRead("p", 0, baseBytes), before)
	dmtest.MustEqual(t, "n after the handover", g.mustRead("n", 0, baseBytes), before)
}

// TestSavedStateErrors: a transient snapshot's saved state that does not
// fit its COW device refuses the rebuild instead of mapping chunks that
// were never written.
func TestSavedStateErrors(t *testing.T) {
	g := newRig(t)
	g.File("cow", 512<<10, false)
	g.stack([2]string{"n", "cow N 8"})
	g.mustWrite("origin", 0, dmtest.Random(4096))
	g.Reg.Close()
	path := filepath.Join(g.Dir, "devices.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const good = `\"next_free_sectors\":8`
	if !strings.Contains(string(raw), good) {
		t.Fatalf("no %s in %s", good, raw)
	}
	bad := strings.Replace(string(raw), good, `\"next_free_sectors\":7`, 1)
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	g.Reg = nil
	g.Reopen()
	d, _ := g.Reg.Lookup("n")
	if err := d.Prepare(); err == nil {
		t.Fatal("bad saved state accepted")
	}
}

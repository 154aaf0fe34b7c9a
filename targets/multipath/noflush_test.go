package multipath_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
)

// TestNoflushSuspendRequeues: I/O queued for want of a path is not failed
// by a noflush suspend but held by the core; a reload with a usable path
// and the resume serve it. Bio-based multipath turns queue_if_no_path off
// for the suspend (saved); request-based keeps it.
func TestNoflushSuspendRequeues(t *testing.T) {
	for _, c := range []struct {
		mode, features, suspended, reload string
	}{
		{"bio", "3 queue_if_no_path queue_mode bio", "3 retain_attached_hw_handler queue_mode bio ", "2 queue_mode bio"},
		{"request-based", "1 queue_if_no_path", "1 queue_if_no_path ", "0"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			g := newRig(t)
			g.disks()
			g.mustCreate("m", c.features+" 0 1 1 round-robin 0 2 0 "+g.Path("a")+" "+g.Path("b"))
			g.mustMessage("m", "fail_path", g.Path("a"))
			g.mustMessage("m", "fail_path", g.Path("b"))
			r := g.startRead("m")
			time.Sleep(50 * time.Millisecond)
			dmtest.Within(t, "a noflush suspend with a queued read", func() error { return g.Reg.SuspendNoflush("m") }, nil)
			select {
			case err := <-r.done:
				t.Fatalf("the queued read ended at the noflush suspend: %v", err)
			case <-time.After(100 * time.Millisecond):
			}
			if got := g.line("m", false); !strings.HasPrefix(got, c.suspended) {
				t.Errorf("table while suspended %q, want %q...", got, c.suspended)
			}
			table := []dm.TargetLine{{Len: devSectors, Type: "multipath", Args: g.Args(c.reload + " 0 1 1 round-robin 0 1 0 b")}}
			if err := g.Reg.Load("m", table); err != nil {
				t.Fatal(err)
			}
			if err := g.Reg.Resume("m"); err != nil {
				t.Fatal(err)
			}
			dmtest.Within(t, "the held read after the resume", func() error { return <-r.done }, nil)
			if r.got != 'b' {
				t.Errorf("the held read was served from %q, want the new table's path b", r.got)
			}
		})
	}
}

// TestRequeuedIOReleasedAtClose: I/O held by a noflush suspend ends with
// targets.ErrReleased when its process closes the registry, instead of
// waiting for a resume that would come from another process.
func TestRequeuedIOReleasedAtClose(t *testing.T) {
	g := newRig(t)
	g.noPaths()
	r := g.startRead("bm")
	time.Sleep(50 * time.Millisecond)
	dmtest.Within(t, "a noflush suspend", func() error { return g.Reg.SuspendNoflush("bm") }, nil)
	dmtest.Within(t, "closing the registry", func() error { g.Reopen(); return nil }, nil)
	if err := <-r.done; !errors.Is(err, targets.ErrReleased) {
		t.Errorf("held read at close: %v, want ErrReleased", err)
	}
}

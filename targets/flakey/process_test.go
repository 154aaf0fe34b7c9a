package flakey

import (
	"errors"
	"io"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/targets"
	"github.com/gdmsetup/gdmsetup/targets/linear"
)

var registerOnce sync.Once

// register makes the types these tests build known to the core, once.
func register() {
	registerOnce.Do(func() {
		targets.Register(Type)
		targets.Register(linear.Type)
	})
}

// TestStartAcrossProcesses runs the device-mapper core over one state
// directory as successive gdmsetup processes do (a Registry each) and
// checks that a table's start time is its load's: a live table and an
// inactive one (resumed in a later process, or only rebuilt in one and
// resumed in the next) keep it; a reload gets a new one.
func TestStartAcrossProcesses(t *testing.T) {
	register()
	c := setClock(t)
	dir, dev := t.TempDir(), devFile(t)
	lines := []dm.TargetLine{{Start: 0, Len: 8, Type: "flakey", Args: []string{dev, "0", "10", "10"}}}
	process := func(steps func(r *dm.Registry)) {
		t.Helper()
		r, err := dm.Open(dir, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		steps(r)
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// readErr reads the device's first sector.
	readErr := func(r *dm.Registry, name string) error {
		t.Helper()
		d, ok := r.Lookup(name)
		if !ok {
			t.Fatalf("no device %s", name)
		}
		must(d.Prepare())
		_, err := d.ReadAt(make([]byte, targets.SectorSize), 0)
		return err
	}
	wantDown := func(r *dm.Registry, name string, down bool) {
		t.Helper()
		err := readErr(r, name)
		if got := errors.Is(err, syscall.EIO); got != down || !down && err != nil {
			t.Errorf("%s at %v: read error %v, want down %v", name, c.t, err, down)
		}
	}

	process(func(r *dm.Registry) {
		must(r.Create("live", "", lines, false))
		must(r.Create("inactive", "", nil, false))
		must(r.Load("inactive", lines))
		must(r.Create("rebuilt", "", nil, false))
		must(r.Load("rebuilt", lines))
		wantDown(r, "live", false)
	})
	c.advance(15 * time.Second)
	process(func(r *dm.Registry) {
		wantDown(r, "live", true)
		must(r.Resume("inactive"))
		wantDown(r, "inactive", true)
		if _, err := r.Lines("rebuilt", true, false); err != nil {
			t.Fatal(err)
		}
		must(r.Load("live", lines))
		must(r.Resume("live"))
		wantDown(r, "live", false)
	})
	process(func(r *dm.Registry) {
		must(r.Resume("rebuilt"))
		wantDown(r, "rebuilt", true)
		wantDown(r, "live", false)
		wantDown(r, "inactive", true)
	})
	c.advance(10 * time.Second)
	process(func(r *dm.Registry) {
		wantDown(r, "live", true)
		wantDown(r, "inactive", false)
		wantDown(r, "rebuilt", false)
	})
}

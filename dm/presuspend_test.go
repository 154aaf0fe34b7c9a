package dm_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
)

// holdTarget is a target that holds every read until its presuspend hook
// runs (as delay does), logging the order of what happens to it. mu guards
// events; release is closed by the first PreSuspend of each suspend.
type holdTarget struct {
	mu      sync.Mutex
	events  []string
	entered chan struct{}
	release chan struct{}
}

var holds struct {
	sync.Mutex
	last *holdTarget
}

func init() {
	targets.Register(targets.Type{Name: "presuspend-hold", Version: [3]int{1, 0, 0}, New: func(*targets.Context, []string) (targets.Target, error) {
		h := &holdTarget{entered: make(chan struct{}, 16), release: make(chan struct{})}
		holds.Lock()
		holds.last = h
		holds.Unlock()
		return h, nil
	}})
}

func (h *holdTarget) log(ev string) {
	h.mu.Lock()
	h.events = append(h.events, ev)
	h.mu.Unlock()
}

func (h *holdTarget) trace() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.events, " ")
}

func (h *holdTarget) ReadAt(p []byte, sector uint64) error {
	h.mu.Lock()
	release := h.release
	h.mu.Unlock()
	h.entered <- struct{}{}
	<-release
	h.log("read-done")
	return nil
}

func (h *holdTarget) WriteAt(p []byte, sector uint64) error   { return nil }
func (h *holdTarget) Discard(sector, lenSectors uint64) error { return nil }
func (h *holdTarget) Flush() error                            { return nil }
func (h *holdTarget) Status() string                          { return "" }
func (h *holdTarget) Table() string                           { return "" }

func (h *holdTarget) PreSuspend() {
	h.mu.Lock()
	h.events = append(h.events, "presuspend")
	close(h.release)
	h.release = make(chan struct{})
	h.mu.Unlock()
}

func (h *holdTarget) PostSuspend() error { h.log("postsuspend"); return nil }
func (h *holdTarget) PreResume() error   { return nil }
func (h *holdTarget) Resume()            { h.log("resume") }

// TestPreSuspendBeforeDrain: a suspend runs presuspend before it waits for
// in-flight I/O (dm_suspend), so a target holding I/O until presuspend
// does not deadlock it; postsuspend comes after the I/O ended. A device
// already suspended gets no second presuspend; remove presuspends a
// running device (__dm_destroy).
func TestPreSuspendBeforeDrain(t *testing.T) {
	var klog bytes.Buffer
	reg, err := dm.Open(t.TempDir(), &klog)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if err := reg.Create("h", "", []dm.TargetLine{{Len: 8, Type: "presuspend-hold"}}, false); err != nil {
		t.Fatal(err)
	}
	holds.Lock()
	h := holds.last
	holds.Unlock()
	d, _ := reg.Lookup("h")

	held := func() chan error {
		done := make(chan error, 1)
		go func() {
			_, err := d.ReadAt(make([]byte, 512), 0)
			done <- err
		}()
		select {
		case <-h.entered:
		case <-time.After(10 * time.Second):
			t.Fatal("the read never reached the target")
		}
		return done
	}
	within := func(what string, fn func() error) {
		t.Helper()
		dmtest.Within(t, what, fn, func() string { return "presuspend did not run before the drain (" + h.trace() + ")" })
	}

	read := held()
	within("suspend", func() error { return reg.Suspend("h") })
	within("the held read", func() error { return <-read })
	within("second suspend", func() error { return reg.Suspend("h") })
	within("resume", func() error { return reg.Resume("h") })
	read = held()
	within("remove", func() error { return reg.Remove("h") })
	within("the held read", func() error { return <-read })
	want := "resume presuspend read-done postsuspend resume presuspend read-done postsuspend"
	if got := h.trace(); got != want {
		t.Fatalf("hooks and I/O ran as %q, want %q", got, want)
	}
}

package dm_test

import (
	"errors"
	"syscall"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// deferredRig is a registry reopened at will (as each command is its own
// process), with the kernel log collected.
type deferredRig struct{ *dmtest.Rig }

func newDeferredRig(t *testing.T) *deferredRig { return &deferredRig{dmtest.New(t)} }

// create makes a device with one table line, "zero" or "linear NAME" (a
// linear target over another mapped device).
func (g *deferredRig) create(name string, over string) {
	g.T.Helper()
	if err := g.Reg.Create(name, "", []dm.TargetLine{line(over)}, false); err != nil {
		g.T.Fatal(err)
	}
}

func line(over string) dm.TargetLine {
	if over == "" {
		return dm.TargetLine{Len: 64, Type: "zero"}
	}
	return dm.TargetLine{Len: 64, Type: "linear", Args: []string{"/dev/mapper/" + over, "0"}}
}

// must fails the test on err.
func (g *deferredRig) must(err error) {
	g.T.Helper()
	if err != nil {
		g.T.Fatal(err)
	}
}

// present checks which of names exist, and that those marked are exactly
// the ones in marked.
func (g *deferredRig) present(names []string, marked ...string) {
	g.T.Helper()
	var got []string
	for _, d := range g.Reg.Devices() {
		got = append(got, d.Name())
	}
	if len(got) != len(names) {
		g.T.Fatalf("devices %v, want %v", got, names)
	}
	for i := range got {
		if got[i] != names[i] {
			g.T.Fatalf("devices %v, want %v", got, names)
		}
	}
	want := map[string]bool{}
	for _, n := range marked {
		want[n] = true
	}
	for _, d := range g.Reg.Devices() {
		if d.Info().Deferred != want[d.Name()] {
			g.T.Fatalf("%s: deferred %v, want %v", d.Name(), d.Info().Deferred, want[d.Name()])
		}
	}
}

func wantErrno(t *testing.T, err error, want syscall.Errno, text string) {
	t.Helper()
	var ie *dm.IoctlError
	if !errors.As(err, &ie) || ie.Errno != want || err.Error() != text {
		t.Fatalf("error %v, want %q", err, text)
	}
}

// TestDeferredRemoveByUser is the kernel transcript: a device another one
// uses is refused by remove, marked by remove --deferred (the mark kept
// across processes, a plain remove still refused), and goes with its user.
func TestDeferredRemoveByUser(t *testing.T) {
	g := newDeferredRig(t)
	g.create("lin", "")
	g.create("top", "lin")
	g.create("ro", "")
	wantErrno(t, g.Reg.Remove("lin"), syscall.EBUSY, "device-mapper: remove ioctl on lin  failed: Device or resource busy")
	g.must(g.Reg.RemoveDeferred("lin"))
	g.present([]string{"lin", "ro", "top"}, "lin")
	d, _ := g.Reg.Lookup("lin")
	if in := d.Info(); in.OpenCount != 1 || !in.Live || in.Suspended {
		t.Fatalf("marked device's info %+v", in)
	}
	g.Reopen()
	g.present([]string{"lin", "ro", "top"}, "lin")
	wantErrno(t, g.Reg.Remove("lin"), syscall.EBUSY, "device-mapper: remove ioctl on lin  failed: Device or resource busy")
	g.must(g.Reg.Remove("top"))
	g.present([]string{"ro"})
	wantErrno(t, g.Reg.RemoveDeferred("nosuch"), syscall.ENXIO, "device-mapper: remove ioctl on nosuch  failed: No such device or address")
	g.must(g.Reg.RemoveDeferred("ro"))
	g.present(nil)
	g.Reopen()
	g.present(nil)
	if g.Klog.Len() != 0 {
		t.Fatalf("kernel log: %s", g.Klog.String())
	}
}

// TestDeferredRemoveByTableChange: the last opener may also let go by a
// reload and resume, or a clear of an inactive table, that leaves the
// marked device out; a chain of marked devices goes at once.
func TestDeferredRemoveByTableChange(t *testing.T) {
	g := newDeferredRig(t)
	g.create("lin", "")
	g.create("top", "lin")
	g.must(g.Reg.RemoveDeferred("lin"))
	g.Reopen()
	g.must(g.Reg.Load("top", []dm.TargetLine{line("")}))
	g.present([]string{"lin", "top"}, "lin") // the live table still uses it
	g.Reopen()
	g.must(g.Reg.Resume("top"))
	g.present([]string{"top"})

	// only an inactive table uses it: clear
	g.create("lin", "")
	g.must(g.Reg.Load("top", []dm.TargetLine{line("lin")}))
	g.must(g.Reg.RemoveDeferred("lin"))
	g.Reopen()
	g.present([]string{"lin", "top"}, "lin")
	g.must(g.Reg.Clear("top"))
	g.present([]string{"top"})

	// a chain: a <- b <- c, a and b marked, c removed
	g.create("a", "")
	g.create("b", "a")
	g.create("c", "b")
	g.must(g.Reg.RemoveDeferred("a"))
	g.must(g.Reg.RemoveDeferred("b"))
	g.Reopen()
	g.present([]string{"a", "b", "c", "top"}, "a", "b")
	g.must(g.Reg.Remove("c"))
	g.present([]string{"top"})
}

// TestDeferredRemoveByRelease: a device an outside opener (an NBD client)
// holds is marked, and goes when the opener releases it.
func TestDeferredRemoveByRelease(t *testing.T) {
	g := newDeferredRig(t)
	g.create("lin", "")
	d, _ := g.Reg.Lookup("lin")
	first, second := d.Opened(), d.Opened()
	g.must(g.Reg.RemoveDeferred("lin"))
	first()
	first() // a second call does nothing
	g.present([]string{"lin"}, "lin")
	second()
	g.present(nil)
	g.Reopen()
	g.present(nil)
}

// TestCancelDeferredRemove: the core message @cancel_deferred_remove (any
// case, no arguments, on a marked device or not, with or without a table)
// clears the mark; other '@' messages are refused by the core.
func TestCancelDeferredRemove(t *testing.T) {
	g := newDeferredRig(t)
	g.create("lin", "")
	g.create("top", "lin")
	g.must(g.Reg.Create("empty", "", nil, false))
	g.must(g.Reg.RemoveDeferred("lin"))
	g.Reopen()
	for _, c := range []struct {
		name string
		args []string
		klog string
	}{
		{"lin", []string{"@cancel_deferred_remove", "now"}, "device-mapper: ioctl: Invalid arguments for @cancel_deferred_remove\n"},
		{"lin", []string{"@stats_frob"}, "device-mapper: ioctl: Unsupported message sent to DM core: @stats_frob\n"},
	} {
		g.Klog.Reset()
		_, err := g.Reg.Message(c.name, 0, c.args)
		wantErrno(t, err, syscall.EINVAL, "device-mapper: message ioctl on "+c.name+"  failed: Invalid argument")
		if g.Klog.String() != c.klog {
			t.Fatalf("message %v: kernel log %q, want %q", c.args, g.Klog.String(), c.klog)
		}
	}
	g.present([]string{"empty", "lin", "top"}, "lin")
	for _, c := range []struct {
		name   string
		sector uint64
		word   string
	}{
		{"lin", 1 << 40, "@CANCEL_deferred_remove"}, // the core does not look at the sector
		{"lin", 0, "@cancel_deferred_remove"},       // not marked any more
		{"empty", 0, "@cancel_deferred_remove"},     // no table
	} {
		if reply, err := g.Reg.Message(c.name, c.sector, []string{c.word}); err != nil || reply != "" {
			t.Fatalf("message %s %d %s: %q, %v", c.name, c.sector, c.word, reply, err)
		}
	}
	g.Reopen()
	g.present([]string{"empty", "lin", "top"})
	g.must(g.Reg.Remove("top"))
	g.present([]string{"empty", "lin"})
}

// TestRemoveAllLeavesOpen: remove_all removes what nothing has open and
// leaves a device an outside opener holds, with the devices it uses, in a
// kernel warning; with --deferred it marks them, and they go with the
// opener.
func TestRemoveAllLeavesOpen(t *testing.T) {
	g := newDeferredRig(t)
	g.create("lin", "")
	g.create("top", "lin")
	g.create("z", "")
	d, _ := g.Reg.Lookup("top")
	release := d.Opened()
	warn := "device-mapper: ioctl: remove_all left 2 open device(s)\n"
	g.must(g.Reg.RemoveAll())
	g.present([]string{"lin", "top"})
	g.must(g.Reg.RemoveAllDeferred())
	g.present([]string{"lin", "top"}, "lin", "top")
	if g.Klog.String() != warn+warn {
		t.Fatalf("kernel log %q, want the warning twice", g.Klog.String())
	}
	release()
	g.present(nil)
}

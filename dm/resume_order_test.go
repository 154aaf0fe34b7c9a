package dm_test

import (
	"strings"
	"syscall"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/targets"
)

// hookProbe is a dtrProbe that also records its suspend and resume hooks
// in dtrEvents. A tag starting with "fail" refuses its preresume (EAGAIN).
type hookProbe struct{ dtrProbe }

func init() {
	targets.Register(targets.Type{Name: "hook-probe", Version: [3]int{1, 0, 0}, Destroys: true,
		New: func(_ *targets.Context, args []string) (targets.Target, error) {
			if len(args) != 1 {
				return nil, targets.Invalid("one tag")
			}
			dtrLog("ctr:" + args[0])
			return &hookProbe{dtrProbe{tag: args[0]}}, nil
		}})
}

func (p *hookProbe) PostSuspend() error { dtrLog("postsuspend:" + p.tag); return nil }

func (p *hookProbe) PreResume() error {
	dtrLog("preresume:" + p.tag)
	if strings.HasPrefix(p.tag, "fail") {
		return syscall.EAGAIN
	}
	return nil
}

func (p *hookProbe) Resume() { dtrLog("resume:" + p.tag) }

func hookLine(tag string) []dm.TargetLine {
	return []dm.TargetLine{{Len: 8, Type: "hook-probe", Args: []string{tag}}}
}

// TestResumeDestroysTheOldTableLast: a resume that swaps in a new table
// runs the new table's preresume and resume before the old table's
// destructor (do_resume: dm_swap_table, dm_resume, then dm_table_destroy),
// so a new target can take over state from the old one while it stands.
// A refused preresume leaves the new table live and the device suspended,
// and the old table is destroyed all the same; the next resume retries the
// new table's hooks.
func TestResumeDestroysTheOldTableLast(t *testing.T) {
	g := newDeferredRig(t)
	dtrTake()
	g.must(g.Reg.Create("p", "", hookLine("a"), false))
	checkEvents(t, "create", "ctr:a preresume:a resume:a")

	g.must(g.Reg.Load("p", hookLine("b")))
	checkEvents(t, "load", "ctr:b")
	g.must(g.Reg.Resume("p"))
	checkEvents(t, "resume", "postsuspend:a preresume:b resume:b dtr:a close:a")

	g.must(g.Reg.Load("p", hookLine("fail1")))
	g.Klog.Reset()
	if err := g.Reg.Resume("p"); !errorsIsErrno(err, syscall.EAGAIN) {
		t.Fatalf("resume with a refusing preresume: %v, want EAGAIN", err)
	}
	checkEvents(t, "refused resume", "ctr:fail1 postsuspend:b preresume:fail1 dtr:b close:b")
	if got, want := g.Klog.String(), "device-mapper: table: 253:0: hook-probe: preresume failed, error = -11\n"; got != want {
		t.Errorf("kernel log %q, want %q", got, want)
	}
	d, _ := g.Reg.Lookup("p")
	if in := d.Info(); !in.Suspended || !in.Live || in.Inactive {
		t.Errorf("after a refused preresume: %+v, want suspended with the new table live and none inactive", in)
	}
	lines, err := g.Reg.Lines("p", false, false)
	if err != nil || len(lines) != 1 || lines[0].Params != "fail1" {
		t.Errorf("live table after a refused preresume: %v %v, want the new one", lines, err)
	}

	// across processes: the old table is built where it was never built
	// (its destructor has work to do) and still goes after the hooks
	g.must(g.Reg.Load("p", hookLine("c")))
	g.Reopen()
	dtrTake()
	g.must(g.Reg.Resume("p"))
	checkEvents(t, "resume in a later process", "ctr:fail1 ctr:c preresume:c resume:c dtr:fail1 close:fail1")
}

package dm_test

import (
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/targets"
)

// dtrProbe is a target that records when it is constructed, destroyed and
// closed, by its one argument, in dtrEvents.
type dtrProbe struct{ tag string }

var dtrEvents struct {
	sync.Mutex
	log []string
}

func dtrLog(ev string) {
	dtrEvents.Lock()
	dtrEvents.log = append(dtrEvents.log, ev)
	dtrEvents.Unlock()
}

// dtrTake returns the events since the last call.
func dtrTake() string {
	dtrEvents.Lock()
	defer dtrEvents.Unlock()
	s := strings.Join(dtrEvents.log, " ")
	dtrEvents.log = nil
	return s
}

func init() {
	targets.Register(targets.Type{Name: "dtr-probe", Version: [3]int{1, 0, 0}, Destroys: true,
		New: func(_ *targets.Context, args []string) (targets.Target, error) {
			if len(args) != 1 {
				return nil, targets.Invalid("one tag")
			}
			dtrLog("ctr:" + args[0])
			return &dtrProbe{tag: args[0]}, nil
		}})
}

func (p *dtrProbe) ReadAt(b []byte, sector uint64) error    { return nil }
func (p *dtrProbe) WriteAt(b []byte, sector uint64) error   { return nil }
func (p *dtrProbe) Discard(sector, lenSectors uint64) error { return nil }
func (p *dtrProbe) Flush() error                            { return nil }
func (p *dtrProbe) Status() string                          { return "" }
func (p *dtrProbe) Table() string                           { return p.tag }
func (p *dtrProbe) Destroy()                                { dtrLog("dtr:" + p.tag) }
func (p *dtrProbe) Close() error                            { dtrLog("close:" + p.tag); return nil }

// checkEvents compares the events logged since the last dtrTake with want.
func checkEvents(t *testing.T, step, want string) {
	t.Helper()
	if got := dtrTake(); got != want {
		t.Errorf("%s: events %q, want %q", step, got, want)
	}
}

func probeLine(tag string) []dm.TargetLine {
	return []dm.TargetLine{{Len: 8, Type: "dtr-probe", Args: []string{tag}}}
}

// TestDestroyOnlyWhenTheTableGoes: a target's Destroy runs when the kernel
// would call its dtr (remove, a resume replacing the live table, a load or
// clear dropping the inactive one, a table failing to load), and not when a
// process ends while its tables live on. An inactive table stored by an
// earlier process is built to be destroyed.
func TestDestroyOnlyWhenTheTableGoes(t *testing.T) {
	g := newDeferredRig(t)
	dtrTake()
	if err := g.Reg.Create("p", "", probeLine("a"), false); err != nil {
		t.Fatal(err)
	}
	checkEvents(t, "create", "ctr:a")
	g.Reopen()
	checkEvents(t, "end of process", "close:a")

	if err := g.Reg.Load("p", probeLine("b")); err != nil {
		t.Fatal(err)
	}
	checkEvents(t, "load", "ctr:a ctr:b")
	g.Reopen()
	checkEvents(t, "end of process with an inactive table", "close:b close:a")

	// a second load drops the stored inactive table: built to be destroyed
	if err := g.Reg.Load("p", probeLine("c")); err != nil {
		t.Fatal(err)
	}
	checkEvents(t, "load over a stored inactive table", "ctr:a ctr:c ctr:b dtr:b close:b")
	g.Reopen()
	checkEvents(t, "end of process", "close:c close:a")

	if err := g.Reg.Resume("p"); err != nil {
		t.Fatal(err)
	}
	checkEvents(t, "resume", "ctr:a ctr:c dtr:a close:a")
	g.Reopen()
	checkEvents(t, "end of process", "close:c")

	if err := g.Reg.Load("p", probeLine("d")); err != nil {
		t.Fatal(err)
	}
	g.Reopen()
	dtrTake()
	if err := g.Reg.Clear("p"); err != nil {
		t.Fatal(err)
	}
	checkEvents(t, "clear of a stored inactive table", "ctr:c ctr:d dtr:d close:d")
	g.Reopen()
	checkEvents(t, "end of process", "close:c")

	// a table failing after the probe was built destroys it (a load
	// builds every live table first, as the kernel has them built)
	bad := append(probeLine("e"), dm.TargetLine{Start: 8, Len: 8, Type: "zero", Args: []string{"extra"}})
	if err := g.Reg.Load("p", bad); !errorsIsErrno(err, syscall.EINVAL) {
		t.Fatalf("load of a bad table: %v, want EINVAL", err)
	}
	checkEvents(t, "failed load", "ctr:c ctr:e dtr:e close:e")

	if err := g.Reg.Remove("p"); err != nil {
		t.Fatal(err)
	}
	checkEvents(t, "remove", "dtr:c close:c")
}

func errorsIsErrno(err error, e syscall.Errno) bool {
	ie, ok := err.(*dm.IoctlError)
	return ok && ie.Errno == e
}

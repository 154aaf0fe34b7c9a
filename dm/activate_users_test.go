package dm_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
)

// usersProbe is a target over one file that records its constructions in
// usersBuilt by its tag; a probe whose role is "origin" asks the core to
// build every user of its file first (targets.Context.ActivateUsers).
type usersProbe struct{ dev targets.Dev }

var usersBuilt struct {
	sync.Mutex
	tags []string
}

func init() {
	targets.Register(targets.Type{Name: "users-probe", Version: [3]int{1, 0, 0},
		New: func(ctx *targets.Context, args []string) (targets.Target, error) {
			if len(args) != 3 {
				return nil, targets.Invalid("role, tag, file")
			}
			dev, err := ctx.Open(args[2])
			if err != nil {
				return nil, targets.Errorf(targets.OpenErrno(err), "open: %v", err)
			}
			usersBuilt.Lock()
			usersBuilt.tags = append(usersBuilt.tags, args[1])
			usersBuilt.Unlock()
			if args[0] == "origin" {
				if err := ctx.ActivateUsers(dev); err != nil {
					return nil, targets.Errorf(targets.OpenErrno(err), "users: %v", err)
				}
			}
			return &usersProbe{dev: dev}, nil
		}})
}

func (p *usersProbe) ReadAt(b []byte, sector uint64) error    { return nil }
func (p *usersProbe) WriteAt(b []byte, sector uint64) error   { return nil }
func (p *usersProbe) Discard(sector, lenSectors uint64) error { return nil }
func (p *usersProbe) Flush() error                            { return nil }
func (p *usersProbe) Status() string                          { return "" }
func (p *usersProbe) Table() string                           { return "" }

// usersTake returns the tags built since the last call, sorted.
func usersTake() string {
	usersBuilt.Lock()
	defer usersBuilt.Unlock()
	sort.Strings(usersBuilt.tags)
	s := strings.Join(usersBuilt.tags, " ")
	usersBuilt.tags = nil
	return s
}

// TestActivateUsers: in a later process, building a table that calls
// ActivateUsers (snapshot-origin) builds the live and inactive tables of
// every device using the same file (its snapshots) and no other; two such tables on
// one file do not build each other in a loop; a user whose table cannot
// be built fails the caller.
func TestActivateUsers(t *testing.T) {
	g := dmtest.New(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, make([]byte, 4096), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	line := func(role, tag, file string) []dm.TargetLine {
		return []dm.TargetLine{{Len: 8, Type: "users-probe", Args: []string{role, tag, file}}}
	}
	for _, c := range []struct{ name, role, file string }{
		{"snap1", "user", a}, {"snap2", "user", a}, {"other", "user", b}, {"pend", "user", b}, {"origin", "origin", a}, {"origin2", "origin", a},
	} {
		if err := g.Reg.Create(c.name, "", line(c.role, c.name, c.file), false); err != nil {
			t.Fatalf("create %s: %v\n%s", c.name, err, g.Klog.String())
		}
	}
	// a loaded table not yet resumed uses the file too
	if err := g.Reg.Load("pend", line("user", "pend-inactive", a)); err != nil {
		t.Fatal(err)
	}
	usersTake()

	g.Reopen()
	d, _ := g.Reg.Lookup("origin")
	if err := d.Prepare(); err != nil {
		t.Fatal(err)
	}
	if got, want := usersTake(), "origin origin2 pend pend-inactive snap1 snap2"; got != want {
		t.Fatalf("built in a new process for a write to origin: %q, want %q", got, want)
	}
	if err := d.Prepare(); err != nil {
		t.Fatal(err)
	}
	if got := usersTake(); got != "" {
		t.Fatalf("built again: %q", got)
	}

	if err := g.Reg.Remove("snap2"); err != nil {
		t.Fatal(err)
	}
	c := filepath.Join(dir, "c")
	if err := os.WriteFile(c, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	broken := append(line("user", "broken", a), line("user", "broken-c", c)...)
	broken[1].Start = 8
	if err := g.Reg.Create("broken", "", broken, false); err != nil {
		t.Fatal(err)
	}
	g.Reopen()
	usersTake()
	if err := os.Remove(c); err != nil {
		t.Fatal(err)
	}
	d, _ = g.Reg.Lookup("origin")
	if err := d.Prepare(); err == nil || !strings.Contains(g.Klog.String(), "users: device broken uses "+a) {
		t.Fatalf("origin built while a table using its file cannot be: %v\n%s", err, g.Klog.String())
	}
}

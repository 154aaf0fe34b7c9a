package dmtest

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/targets"
)

// callTarget records the lifecycle calls the env makes on it, and the
// Context and arguments it was built with.
type callTarget struct {
	targets.Target
	ctx   *targets.Context
	args  []string
	calls []string
}

func (c *callTarget) PreResume() error   { c.calls = append(c.calls, "PreResume"); return nil }
func (c *callTarget) Resume()            { c.calls = append(c.calls, "Resume") }
func (c *callTarget) PostSuspend() error { c.calls = append(c.calls, "PostSuspend"); return nil }
func (c *callTarget) StopBackground()    { c.calls = append(c.calls, "StopBackground") }
func (c *callTarget) SaveState() string  { c.calls = append(c.calls, "SaveState"); return "state" }
func (c *callTarget) Close() error       { c.calls = append(c.calls, "Close"); return nil }

func newCallTarget(ctx *targets.Context, args []string) (targets.Target, error) {
	if len(args) == 0 {
		return nil, errors.New("no arguments")
	}
	return &callTarget{ctx: ctx, args: args}, nil
}

// TestTargetEnvLifecycle: the env builds a load inactive, resumes it as
// the core does, ends a process with StopBackground, SaveState and Close
// in that order, rebuilds a restored table with the saved state, and
// removes with PostSuspend then Close.
func TestTargetEnvLifecycle(t *testing.T) {
	e := NewTargetEnv[*callTarget](t, t.TempDir(), newCallTarget)
	e.Sparse("dev", 4096)
	adjusted := 0
	e.Adjust = func(*targets.Context) { adjusted++ }
	if _, err := e.Build(8, ""); err == nil || err.Error() != "no arguments" {
		t.Fatalf("Build returned %v, want the constructor's error as it is", err)
	}
	x := e.Create(8, "dev 3")
	if !x.ctx.Inactive || x.ctx.Restored || x.ctx.Len != 8 {
		t.Fatalf("Create's context: %+v", x.ctx)
	}
	if !slices.Equal(x.args, []string{"dev", "3"}) {
		t.Fatalf("arguments %q, want strings.Fields", x.args)
	}
	if !slices.Equal(x.calls, []string{"PreResume", "Resume"}) {
		t.Fatalf("Create called %v", x.calls)
	}
	y := e.Restore(x, 16, "dev")
	if !slices.Equal(x.calls, []string{"PreResume", "Resume", "StopBackground", "SaveState", "Close"}) {
		t.Fatalf("the end of a process called %v", x.calls)
	}
	if y.ctx.Inactive || !y.ctx.Restored || y.ctx.Saved != "state" || y.ctx.Len != 16 {
		t.Fatalf("Restore's context: %+v", y.ctx)
	}
	e.Remove(y)
	if !slices.Equal(y.calls, []string{"PostSuspend", "Close"}) {
		t.Fatalf("Remove called %v", y.calls)
	}
	if adjusted != 3 {
		t.Fatalf("Adjust ran %d times for 3 Contexts", adjusted)
	}
	e.Args = e.FileArgs
	z := e.Create(8, "dev missing /dev")
	if want := []string{e.Path("dev"), "missing", "/dev"}; !slices.Equal(z.args, want) {
		t.Fatalf("FileArgs gave %q, want %q", z.args, want)
	}
	if !strings.HasPrefix(z.ctx.DevName, "253:") {
		t.Fatalf("DevName %q", z.ctx.DevName)
	}
}

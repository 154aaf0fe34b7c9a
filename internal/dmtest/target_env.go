package dmtest

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/targets"
)

// TargetEnv is a directory of real files and the Contexts to build one
// target type's table lines on them directly (no registry), with the calls
// the core makes around a table in the life of its commands: a load, a
// resume, the end of a process, a later process rebuilding the live table,
// a remove. X is the type the constructor returns (*writecache.Writecache);
// a package's tests use it as their env or embed it in theirs. Its fields
// are set before use; Direct guards its own log.
type TargetEnv[X targets.Target] struct {
	*Direct
	T   testing.TB
	Dir string // the directory of the env's files (Path, Sparse)
	// New is the target type's constructor.
	New targets.Constructor
	// Args, when not nil, splits a table line into the constructor's
	// arguments (the default: strings.Fields).
	Args func(table string) []string
	// Adjust, when not nil, changes every Context the env makes.
	Adjust func(ctx *targets.Context)
}

// NewTargetEnv is an env over dir (t.TempDir() for a new one; a crash
// child passes its parent's) building X with newTarget.
func NewTargetEnv[X targets.Target](t testing.TB, dir string, newTarget targets.Constructor) *TargetEnv[X] {
	return &TargetEnv[X]{Direct: NewDirect(t), T: t, Dir: dir, New: newTarget}
}

// Path is the path of the file name in Dir.
func (e *TargetEnv[X]) Path(name string) string { return filepath.Join(e.Dir, name) }

// Sparse makes the file name in Dir as sizeBytes of zeros taking no space
// and returns its path.
func (e *TargetEnv[X]) Sparse(name string, sizeBytes int64) string {
	e.T.Helper()
	return Sparse(e.T, e.Path(name), sizeBytes)
}

// FileArgs splits table into words, each word naming a file of Dir
// replaced by its path.
func (e *TargetEnv[X]) FileArgs(table string) []string { return argsIn(e.Dir, table) }

// Context is Direct's Context for a line of lenSectors, changed by Adjust.
func (e *TargetEnv[X]) Context(lenSectors uint64) *targets.Context {
	ctx := e.Direct.Context(lenSectors)
	if e.Adjust != nil {
		e.Adjust(ctx)
	}
	return ctx
}

// LoadContext is the Context of a table being loaded: inactive until a
// resume swaps it in.
func (e *TargetEnv[X]) LoadContext(lenSectors uint64) *targets.Context {
	ctx := e.Context(lenSectors)
	ctx.Inactive = true
	return ctx
}

// Construct builds the table line table with ctx and returns the
// constructor's error as it is.
func (e *TargetEnv[X]) Construct(ctx *targets.Context, table string) (X, error) {
	args := strings.Fields(table)
	if e.Args != nil {
		args = e.Args(table)
	}
	tg, err := e.New(ctx, args)
	if err != nil {
		var none X
		return none, err
	}
	return tg.(X), nil
}

// MustConstruct is Construct failing the test, with the kernel log, on an
// error.
func (e *TargetEnv[X]) MustConstruct(ctx *targets.Context, table string) X {
	e.T.Helper()
	x, err := e.Construct(ctx, table)
	if err != nil {
		e.T.Fatalf("table %q: %v (kernel log %q)", table, err, e.TakeLog())
	}
	return x
}

// Build builds a table line of lenSectors as a load does (`dmsetup
// create` before its resume) and returns the constructor's error as it is.
func (e *TargetEnv[X]) Build(lenSectors uint64, table string) (X, error) {
	return e.Construct(e.LoadContext(lenSectors), table)
}

// Create builds a table line as a load does and resumes it, failing the
// test on an error.
func (e *TargetEnv[X]) Create(lenSectors uint64, table string) X {
	e.T.Helper()
	x := e.MustConstruct(e.LoadContext(lenSectors), table)
	e.Resume(x)
	return x
}

// Resume makes x live as a resume does: its PreResume (failing the test
// when it refuses) and Resume, when it is a targets.Resumer.
func (e *TargetEnv[X]) Resume(x X) {
	e.T.Helper()
	if r, ok := any(x).(targets.Resumer); ok {
		if err := r.PreResume(); err != nil {
			e.T.Fatalf("resume: %v (kernel log %q)", err, e.TakeLog())
		}
		r.Resume()
	}
}

// EndProcess is what the core does to a live table at the end of a
// command: StopBackground, SaveState and Close, each when x has it. It
// returns the saved state.
func (e *TargetEnv[X]) EndProcess(x X) string {
	e.T.Helper()
	if b, ok := any(x).(targets.BackgroundStopper); ok {
		b.StopBackground()
	}
	saved := ""
	if s, ok := any(x).(targets.StateSaver); ok {
		saved = s.SaveState()
	}
	e.close(x)
	return saved
}

// Restore ends x's process (EndProcess) and builds its live table of
// lenSectors again as a later process does: ctx.Restored, with the state
// x saved.
func (e *TargetEnv[X]) Restore(x X, lenSectors uint64, table string) X {
	e.T.Helper()
	saved := e.EndProcess(x)
	ctx := e.Context(lenSectors)
	ctx.Restored, ctx.Saved = true, saved
	return e.MustConstruct(ctx, table)
}

// Remove suspends x (its PostSuspend, as a remove does) and closes it.
func (e *TargetEnv[X]) Remove(x X) {
	e.T.Helper()
	if s, ok := any(x).(targets.Suspender); ok {
		if err := s.PostSuspend(); err != nil {
			e.T.Fatalf("suspend: %v", err)
		}
	}
	e.close(x)
}

func (e *TargetEnv[X]) close(x X) {
	e.T.Helper()
	if c, ok := any(x).(targets.Closer); ok {
		if err := c.Close(); err != nil {
			e.T.Fatalf("close: %v", err)
		}
	}
}

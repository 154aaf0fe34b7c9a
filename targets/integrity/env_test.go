package integrity

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
)

// env is a set of real files and Contexts to build integrity tables on.
type env struct {
	*dmtest.Direct
	t   testing.TB
	dir string
}

func newEnv(t testing.TB) *env {
	return &env{Direct: dmtest.NewDirect(t), t: t, dir: t.TempDir()}
}

// sparse makes a sparse file of size bytes and returns its path.
func (e *env) sparse(name string, size int64) string {
	e.t.Helper()
	return dmtest.Sparse(e.t, filepath.Join(e.dir, name), size)
}

// path is the path of a file of the env; words of a table naming one are
// replaced by it.
func (e *env) path(name string) string { return filepath.Join(e.dir, name) }

func (e *env) args(table string) []string {
	words := strings.Fields(table)
	for i, w := range words {
		if _, err := os.Stat(e.path(w)); err == nil {
			words[i] = e.path(w)
		}
		if v, ok := strings.CutPrefix(w, "meta_device:"); ok {
			words[i] = "meta_device:" + e.path(v)
		}
	}
	return words
}

// build loads a table line (as `dmsetup create` does before its resume).
func (e *env) build(lenSectors uint64, table string) (*Integrity, error) {
	ctx := e.Context(lenSectors)
	ctx.Inactive = true
	tg, err := New(ctx, e.args(table))
	if err != nil {
		return nil, err
	}
	return tg.(*Integrity), nil
}

// create loads a table line and resumes it.
func (e *env) create(lenSectors uint64, table string) *Integrity {
	e.t.Helper()
	x, err := e.build(lenSectors, table)
	if err != nil {
		e.t.Fatalf("integrity %s: %v (%v)", table, err, e.TakeLog())
	}
	if err := x.PreResume(); err != nil {
		e.t.Fatal(err)
	}
	x.Resume()
	return x
}

// endProcess is the end of a command: background work stopped, the state
// saved, the table closed. It returns the saved state.
func (e *env) endProcess(x *Integrity) string {
	e.t.Helper()
	x.StopBackground()
	saved := x.SaveState()
	if err := x.Close(); err != nil {
		e.t.Fatal(err)
	}
	return saved
}

// rebuild ends x's process and builds its live table again as a later
// process does.
func (e *env) rebuild(x *Integrity, table string) *Integrity {
	e.t.Helper()
	saved := e.endProcess(x)
	ctx := e.Context(x.ctx.Len)
	ctx.Restored, ctx.Saved = true, saved
	tg, err := New(ctx, e.args(table))
	if err != nil {
		e.t.Fatalf("rebuilding %s: %v", table, err)
	}
	return tg.(*Integrity)
}

// remove suspends x (as a remove does) and closes it.
func (e *env) remove(x *Integrity) {
	e.t.Helper()
	if err := x.PostSuspend(); err != nil {
		e.t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		e.t.Fatal(err)
	}
}

// gunzip unpacks testdata/NAME.gz into the env as name.
func (e *env) gunzip(name string) string {
	e.t.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".gz"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		e.t.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		e.t.Fatal(err)
	}
	p := e.path(name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// pattern is n bytes that differ with seed.
func pattern(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed ^ byte(i*7+i>>8) ^ byte(i>>12)
	}
	return b
}

// readAt reads n bytes at sector through x.
func readAt(t testing.TB, x *Integrity, sector uint64, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if err := x.ReadAt(b, sector); err != nil {
		t.Fatalf("read %d bytes at sector %d: %v", n, sector, err)
	}
	return b
}

func writeAt(t testing.TB, x *Integrity, sector uint64, b []byte) {
	t.Helper()
	if err := x.WriteAt(b, sector); err != nil {
		t.Fatalf("write %d bytes at sector %d: %v", len(b), sector, err)
	}
}

// fileBytes reads n bytes of a file at offBytes.
func fileBytes(t testing.TB, path string, offBytes int64, n int) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, offBytes); err != nil {
		t.Fatal(err)
	}
	return b
}

func mustEqual(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: the bytes differ", what)
	}
}

var _ targets.Target = (*Integrity)(nil)

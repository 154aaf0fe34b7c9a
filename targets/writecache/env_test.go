package writecache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
)

// env is a set of real files and Contexts to build writecache tables on them.
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

// build loads a table line (as `dmsetup create` does before its resume).
func (e *env) build(lenSectors uint64, table string) (*Writecache, error) {
	ctx := e.Context(lenSectors)
	ctx.Inactive = true
	tg, err := New(ctx, strings.Fields(table))
	if err != nil {
		return nil, err
	}
	return tg.(*Writecache), nil
}

// create loads a table line and resumes it.
func (e *env) create(lenSectors uint64, table string) *Writecache {
	e.t.Helper()
	w, err := e.build(lenSectors, table)
	if err != nil {
		e.t.Fatalf("writecache %s: %v", table, err)
	}
	if err := w.PreResume(); err != nil {
		e.t.Fatal(err)
	}
	w.Resume()
	return w
}

// endProcess is the end of a command: background work stopped, the state
// saved, the table closed. It returns the saved state.
func (e *env) endProcess(w *Writecache) string {
	e.t.Helper()
	w.StopBackground()
	saved := w.SaveState()
	if err := w.Close(); err != nil {
		e.t.Fatal(err)
	}
	return saved
}

// rebuild ends w's process and builds its live table again as a later
// process does.
func (e *env) rebuild(w *Writecache, table string) *Writecache {
	e.t.Helper()
	saved := e.endProcess(w)
	ctx := e.Context(w.lenSectors)
	ctx.Restored, ctx.Saved = true, saved
	tg, err := New(ctx, strings.Fields(table))
	if err != nil {
		e.t.Fatalf("rebuilding %s: %v", table, err)
	}
	return tg.(*Writecache)
}

// remove suspends w (as a remove does) and closes it.
func (e *env) remove(w *Writecache) {
	e.t.Helper()
	if err := w.PostSuspend(); err != nil {
		e.t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		e.t.Fatal(err)
	}
}

// pattern is n bytes that differ with seed.
func pattern(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed ^ byte(i*7+i>>8)
	}
	return b
}

// readAt reads n bytes at sector through w.
func readAt(t testing.TB, w *Writecache, sector uint64, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if err := w.ReadAt(b, sector); err != nil {
		t.Fatal(err)
	}
	return b
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

// fileHash is the sha256 of a whole file.
func fileHash(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// status is w's status split into numbers' words.
func status(w *Writecache) []string { return strings.Fields(w.Status()) }

func mustEqual(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: the bytes differ", what)
	}
}

var _ targets.Target = (*Writecache)(nil)

package clone

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
)

// env is a set of real files and a Context to build clone tables on them.
type env struct {
	*dmtest.Direct
	t      *testing.T
	dir    string
	events chan struct{}
}

func newEnv(t *testing.T) *env {
	return &env{Direct: dmtest.NewDirect(t), t: t, dir: t.TempDir(), events: make(chan struct{}, 100)}
}

// path returns the absolute path of name in the env's directory.
func (e *env) path(name string) string { return filepath.Join(e.dir, name) }

// sparse makes a sparse file of size bytes.
func (e *env) sparse(name string, size int64) string {
	e.t.Helper()
	return dmtest.Sparse(e.t, e.path(name), size)
}

// source makes a file of size bytes whose every sector is distinct.
func (e *env) source(name string, size int64) string {
	e.t.Helper()
	p := e.path(name)
	if err := os.WriteFile(p, sourceBytes(0, size), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// sourceBytes is the source pattern of bytes [off, off+n), sector aligned.
func sourceBytes(off, n int64) []byte {
	b := make([]byte, n)
	for s := int64(0); s < n; s += targets.SectorSize {
		h := sha256.Sum256(fmt.Appendf(nil, "src %d", (off+s)/targets.SectorSize))
		for i := 0; i < targets.SectorSize; i += len(h) {
			copy(b[s+int64(i):], h[:])
		}
	}
	return b
}

// writeData is the content of write number k: one sector, distinct per k.
func writeData(k int, n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], uint64(k)<<32|uint64(i))
	}
	return b
}

func (e *env) ctx(lenSectors uint64) *targets.Context {
	ctx := e.Context(lenSectors)
	ctx.Event = func() {
		select {
		case e.events <- struct{}{}:
		default:
		}
	}
	return ctx
}

// build constructs a clone table line from its words.
func (e *env) build(lenSectors uint64, table string) (*Clone, error) {
	tg, err := New(e.ctx(lenSectors), strings.Fields(table))
	if err != nil {
		return nil, err
	}
	return tg.(*Clone), nil
}

func (e *env) mustBuild(lenSectors uint64, table string) *Clone {
	e.t.Helper()
	c, err := e.build(lenSectors, table)
	if err != nil {
		e.t.Fatalf("clone %s: %v", table, err)
	}
	return c
}

// mustLoad is mustBuild for a table the user loads (ctx.Inactive): it
// starts from its own arguments at its resume.
func (e *env) mustLoad(lenSectors uint64, table string) *Clone {
	e.t.Helper()
	ctx := e.ctx(lenSectors)
	ctx.Inactive = true
	tg, err := New(ctx, strings.Fields(table))
	if err != nil {
		e.t.Fatalf("clone %s: %v", table, err)
	}
	return tg.(*Clone)
}

// mustRestore rebuilds a live table in a "later process" as the core does:
// ctx.Restored, with the state c gave at the end of its process (its
// StopBackground, SaveState and Close run here).
func (e *env) mustRestore(c *Clone, lenSectors uint64, table string) *Clone {
	e.t.Helper()
	c.StopBackground()
	saved := c.SaveState()
	if err := c.Close(); err != nil {
		e.t.Fatal(err)
	}
	ctx := e.ctx(lenSectors)
	ctx.Restored, ctx.Saved = true, saved
	tg, err := New(ctx, strings.Fields(table))
	if err != nil {
		e.t.Fatalf("clone %s: %v", table, err)
	}
	return tg.(*Clone)
}

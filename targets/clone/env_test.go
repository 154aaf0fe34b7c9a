package clone

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
)

// env is a set of real files and Contexts to build clone tables on them;
// every Context's Event sends on events (dropped when it is full).
type env struct {
	*dmtest.TargetEnv[*Clone]
	events chan struct{}
}

func newEnv(t *testing.T) *env { return envIn(t, t.TempDir(), 100) }

// envIn is an env over the files of dir with room for eventRoom events.
func envIn(t *testing.T, dir string, eventRoom int) *env {
	e := &env{TargetEnv: dmtest.NewTargetEnv[*Clone](t, dir, New), events: make(chan struct{}, eventRoom)}
	e.Adjust = func(ctx *targets.Context) {
		ctx.Event = func() {
			select {
			case e.events <- struct{}{}:
			default:
			}
		}
	}
	return e
}

// source makes a file of size bytes whose every sector is distinct.
func (e *env) source(name string, size int64) string {
	e.T.Helper()
	p := e.Path(name)
	if err := os.WriteFile(p, sourceBytes(0, size), 0o600); err != nil {
		e.T.Fatal(err)
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

// build constructs a clone table line from its words, live from the
// start (not a load: it does not wait for a resume).
func (e *env) build(lenSectors uint64, table string) (*Clone, error) {
	return e.Construct(e.Context(lenSectors), table)
}

func (e *env) mustBuild(lenSectors uint64, table string) *Clone {
	e.T.Helper()
	return e.MustConstruct(e.Context(lenSectors), table)
}

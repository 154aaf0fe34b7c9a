package era

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
)

// env is a set of real files and Contexts to build era tables on them.
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

func (e *env) ctx(lenSectors uint64) *targets.Context {
	ctx := e.Context(lenSectors)
	ctx.Inactive = true
	return ctx
}

// build loads a table line (as `dmsetup create` does before its resume).
func (e *env) build(lenSectors uint64, table string) (*Era, error) {
	tg, err := New(e.ctx(lenSectors), strings.Fields(table))
	if err != nil {
		return nil, err
	}
	return tg.(*Era), nil
}

// create loads a table line and resumes it.
func (e *env) create(lenSectors uint64, table string) *Era {
	e.t.Helper()
	x, err := e.build(lenSectors, table)
	if err != nil {
		e.t.Fatalf("era %s: %v", table, err)
	}
	if err := x.PreResume(); err != nil {
		e.t.Fatalf("resume %s: %v", table, err)
	}
	x.Resume()
	return x
}

// rebuild ends x's process (SaveState, Close) and builds its live table
// again as a later process does.
func (e *env) rebuild(x *Era, table string) *Era {
	e.t.Helper()
	saved := x.SaveState()
	if err := x.Close(); err != nil {
		e.t.Fatal(err)
	}
	ctx := e.ctx(x.lenSectors)
	ctx.Inactive, ctx.Restored, ctx.Saved = false, true, saved
	tg, err := New(ctx, strings.Fields(table))
	if err != nil {
		e.t.Fatalf("rebuilding era %s: %v", table, err)
	}
	return tg.(*Era)
}

// pattern is n bytes distinct for seed k.
func pattern(k, n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i += 32 {
		h := sha256.Sum256(fmt.Appendf(nil, "%d %d", k, i))
		copy(b[i:], h[:])
	}
	return b
}

// tool runs a thin-provisioning-tools binary: skipped when it is missing
// unless CI=true. It returns stdout; a non-zero exit fails the test.
func tool(t *testing.T, name string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed", name)
		}
		t.Skipf("%s not installed", name)
	}
	var out, errb bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s%s", name, args, err, out.String(), errb.String())
	}
	return out.String()
}

// eraCheck runs era_check on a metadata file.
func eraCheck(t *testing.T, meta string) {
	t.Helper()
	tool(t, "era_check", meta)
}

// changedSince lists era_invalidate --written-since era's blocks and
// ranges ("a" or "a-b", b exclusive).
func changedSince(t *testing.T, meta string, era uint32) []string {
	t.Helper()
	out := tool(t, "era_invalidate", "--written-since", fmt.Sprint(era), meta)
	var blocks []string
	for _, m := range blockRE.FindAllStringSubmatch(out, -1) {
		if m[1] != "" {
			blocks = append(blocks, m[1])
		} else {
			blocks = append(blocks, m[2]+"-"+m[3])
		}
	}
	return blocks
}

var blockRE = regexp.MustCompile(`<block block="(\d+)"/>|<range begin="(\d+)" end = "(\d+)"/>`)

package integrity

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
)

// env is a set of real files and Contexts to build integrity tables on;
// words of a table naming one of its files (and meta_device:NAME) stand
// for the file's path.
type env = dmtest.TargetEnv[*Integrity]

func newEnv(t testing.TB) *env { return envIn(t, t.TempDir()) }

// envIn is an env over the files of dir.
func envIn(t testing.TB, dir string) *env {
	e := dmtest.NewTargetEnv[*Integrity](t, dir, New)
	e.Args = func(table string) []string {
		words := e.FileArgs(table)
		for i, w := range words {
			if v, ok := strings.CutPrefix(w, "meta_device:"); ok {
				words[i] = "meta_device:" + e.Path(v)
			}
		}
		return words
	}
	return e
}

// gunzip unpacks testdata/NAME.gz into the env as name.
func gunzip(e *env, name string) string {
	e.T.Helper()
	return dmtest.Gunzip(e.T, filepath.Join("testdata", name+".gz"), e.Path(name))
}

// pattern is n bytes that differ with seed.
func pattern(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed ^ byte(i*7+i>>8) ^ byte(i>>12)
	}
	return b
}

var _ targets.Target = (*Integrity)(nil)

package writecache

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
)

// env is a set of real files and Contexts to build writecache tables on them.
type env = dmtest.TargetEnv[*Writecache]

func newEnv(t testing.TB) *env { return dmtest.NewTargetEnv[*Writecache](t, t.TempDir(), New) }

// pattern is n bytes that differ with seed.
func pattern(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed ^ byte(i*7+i>>8)
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

var _ targets.Target = (*Writecache)(nil)

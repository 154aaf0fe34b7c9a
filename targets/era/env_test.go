package era

import (
	"crypto/sha256"
	"fmt"
	"regexp"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// env is a set of real files and Contexts to build era tables on them.
type env = dmtest.TargetEnv[*Era]

func newEnv(t testing.TB) *env { return dmtest.NewTargetEnv[*Era](t, t.TempDir(), New) }

// pattern is n bytes distinct for seed k.
func pattern(k, n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i += 32 {
		h := sha256.Sum256(fmt.Appendf(nil, "%d %d", k, i))
		copy(b[i:], h[:])
	}
	return b
}

// eraCheck runs era_check on a metadata file.
func eraCheck(t *testing.T, meta string) {
	t.Helper()
	dmtest.RunPeer(t, "era_check", meta)
}

// changedSince lists era_invalidate --written-since era's blocks and
// ranges ("a" or "a-b", b exclusive).
func changedSince(t *testing.T, meta string, era uint32) []string {
	t.Helper()
	out := dmtest.RunPeer(t, "era_invalidate", "--written-since", fmt.Sprint(era), meta)
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

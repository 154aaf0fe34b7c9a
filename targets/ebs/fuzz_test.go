package ebs

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// FuzzEbsTable builds ebs from any words after a real device and does I/O
// at any sector through what it builds: an error or a target, never a
// panic.
func FuzzEbsTable(f *testing.F) {
	for _, s := range []string{"0 8", "0 1 8", "16 2 4", "x 8", "0 65537 0", "0 8 -8", "1 1 2", "0 1 32768",
		"18446744073709551615 1"} {
		f.Add(s, uint16(3), uint8(5))
	}
	f.Fuzz(func(t *testing.T, table string, sector uint16, n uint8) {
		dev := dmtest.Sparse(t, filepath.Join(t.TempDir(), "dev.img"), 1<<16+512)
		tg, err := New(dmtest.NewDirect(t).Context(129), append([]string{dev}, strings.Fields(table)...))
		if err != nil {
			return
		}
		if !strings.HasPrefix(tg.Table(), dev+" ") {
			t.Fatalf("table %q does not name the device", tg.Table())
		}
		s := uint64(sector) % 129
		k := min(uint64(n)%8+1, 129-s)
		tg.WriteAt(make([]byte, k*512), s)
		tg.ReadAt(make([]byte, k*512), s)
		tg.Discard(s, k)
	})
}

package flakey

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
)

// devBytes is the size of the test device file.
const devBytes = 1 << 20

// clock is a settable time for the up/down cycle; it replaces now for the
// test that makes it (such tests do not run in parallel).
type clock struct{ t time.Time }

func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func setClock(t *testing.T) *clock {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	old := now
	now = func() time.Time { return c.t }
	t.Cleanup(func() { now = old })
	return c
}

// pattern is n bytes that differ from sector to sector, distinct per seed.
func pattern(seed string, n int) []byte {
	b := make([]byte, 0, n)
	for i := 0; len(b) < n; i++ {
		h := sha256.Sum256(fmt.Appendf(nil, "%s %d", seed, i))
		b = append(b, h[:]...)
	}
	return b[:n]
}

// devFile makes a file of devBytes holding pattern("dev") and returns its path.
func devFile(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "dev.img")
	if err := os.WriteFile(p, pattern("dev", devBytes), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// build constructs a flakey target over path from args after the device.
func build(t *testing.T, path string, args ...string) *Flakey {
	t.Helper()
	tg, err := New(dmtest.NewDirect(t).Context(devBytes/targets.SectorSize), append([]string{path}, args...))
	if err != nil {
		t.Fatalf("flakey %s %v: %v", path, args, err)
	}
	return tg.(*Flakey)
}

// withByte is a copy of b with b[i] = v.
func withByte(b []byte, i int, v byte) []byte {
	c := bytes.Clone(b)
	c[i] = v
	return c
}

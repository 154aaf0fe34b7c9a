package mirror

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/targets"
)

// ctxFor is a Context for a lenSectors table over files, as a later
// process rebuilding a live table (saved: what SaveState gave).
func ctxFor(t *testing.T, lenSectors uint64, saved string) *targets.Context {
	return &targets.Context{Len: lenSectors, DevName: "253:0", Restored: saved != "-", Saved: strings.TrimPrefix(saved, "-"),
		Logf: func(format string, args ...any) { t.Logf(format, args...) },
		Open: func(p string) (targets.Dev, error) {
			f, err := targets.OpenFile(p)
			if err == nil {
				t.Cleanup(func() { f.Close() })
			}
			return f, err
		}}
}

func file(t *testing.T, name string, sizeBytes int64) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, sizeBytes); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSavedState: the state of a live set comes back whole in a later
// process; saved state that is no mirror's or does not fit the table is
// refused with an error naming the device.
func TestSavedState(t *testing.T) {
	a, b := file(t, "a", 1<<20), file(t, "b", 1<<20)
	args := []string{"core", "1", "256", "2", a, "0", b, "0", "1", "handle_errors"}
	tg, err := New(ctxFor(t, 2048, "-"), args)
	if err != nil {
		t.Fatal(err)
	}
	m := tg.(*Mirror)
	m.mu.Lock()
	m.log.setRegionSync(1, true)
	m.log.setRegionSync(6, true)
	m.failLeg(1, syncError)
	m.regions[3] = &region{state: rhNoSync}
	m.mu.Unlock()
	saved := m.SaveState()
	back, err := New(ctxFor(t, 2048, saved), args)
	if err != nil {
		t.Fatal(err)
	}
	defer back.(*Mirror).Close()
	if got := back.Status(); !strings.HasSuffix(got, " 2/8 1 AS 1 core") {
		t.Errorf("restored status %q", got)
	}
	bm := back.(*Mirror)
	bm.mu.Lock()
	st := bm.regionState(3)
	bm.mu.Unlock()
	if st != rhNoSync {
		t.Errorf("region 3 restored as %v", st)
	}
	for _, c := range []struct{ saved, want string }{
		{"garbage", "not a saved mirror state"},
		{savedPrefix + "{", "saved mirror state: "},
		{strings.Replace(saved, `"DefaultLeg":0`, `"DefaultLeg":5`, 1), "default 5"},
		{strings.Replace(saved, `"SyncCount":2`, `"SyncCount":9`, 1), "9 regions in sync, of 8"},
		{strings.Replace(saved, `"NoSync":[3]`, `"NoSync":[8]`, 1), "region 8 out of sync, of 8"},
	} {
		_, err := New(ctxFor(t, 2048, c.saved), args)
		if err == nil || !strings.Contains(err.Error(), "saved state of 253:0") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("saved %.40q: %v, want %q", c.saved, err, c.want)
		}
	}
	if _, err := New(ctxFor(t, 1024, saved), args); err == nil || !strings.Contains(err.Error(), "the table has 4 regions") {
		t.Errorf("a shorter table took the saved state: %v", err)
	}
}

package writecache

import (
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
)

// TestFUAWrite: in SSD mode a FUA write goes to the cache device as a FUA
// write and counts as a write, not a flush; it commits nothing (6.1's
// writecache_map_write commits for REQ_FUA in pmem mode only), so a table
// built over the cache device after a crash does not find the block. With
// the cleaner, a FUA write goes around the cache to the origin.
func TestFUAWrite(t *testing.T) {
	e := newEnv(t)
	origin, cache := e.Sparse("origin", 16<<20), e.Sparse("cache", 1<<20)
	table := "s " + origin + " " + cache + " 4096 0"
	w := e.Create(originSectors, table)
	a := pattern(7, 4096)
	if err := targets.WriteFUA(w, a, 0); err != nil {
		t.Fatal(err)
	}
	if got, want := w.Status(), "0 254 253 0 0 0 1 0 0 0 1 0 0 0"; got != want {
		t.Fatalf("status %q, want %q", got, want)
	}
	dmtest.MustEqual(t, "the FUA write read back", dmtest.ReadAt(t, w, 0, 4096), a)
	w.stopWorker()
	w2 := e.Create(originSectors, table)
	dmtest.MustEqual(t, "the uncommitted block after a crash", dmtest.ReadAt(t, w2, 0, 4096), make([]byte, 4096))
	if got, want := w2.Status(), "0 254 254 0 1 0 0 0 0 0 0 0 0 0"; got != want {
		t.Fatalf("status after the crash %q, want %q", got, want)
	}
	e.Remove(w2)

	w3 := e.Create(originSectors, "s "+origin+" "+cache+" 4096 1 cleaner")
	b := pattern(8, 8192)
	if err := targets.WriteFUA(w3, b, 64); err != nil {
		t.Fatal(err)
	}
	dmtest.MustEqual(t, "the FUA write around the cache", dmtest.FileBytes(t, origin, 64*512, len(b)), b)
	if got, want := w3.Status(), "0 254 254 0 0 0 2 0 0 2 0 0 0 0"; got != want {
		t.Fatalf("status with the cleaner %q, want %q", got, want)
	}
	e.Remove(w3)
}

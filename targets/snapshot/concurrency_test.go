package snapshot_test

import (
	"bytes"
	"errors"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"os"
	"sync"
	"testing"
)

// TestConcurrentSameChunk: writes through the origin and through the
// snapshot, and snapshot reads, to the same chunks at once (run with
// -race): each chunk is copied once, before any origin write lands on
// it, so the snapshot's unwritten sectors keep the old data, its written
// sectors hold one of the writes, and the origin holds one of its writes.
func TestConcurrentSameChunk(t *testing.T) {
	g := newRig(t)
	g.File("cow", 1<<20, false)
	before, _ := os.ReadFile(g.Path("base"))
	g.stack([2]string{"s", "cow P 16"})
	const chunks, rounds = 8, 4
	origin, snap := g.Device("origin"), g.Device("s")
	var wg sync.WaitGroup
	errs := make(chan error, 1024)
	for c := 0; c < chunks; c++ {
		for r := 0; r < rounds; r++ {
			wg.Add(3)
			off := int64(c) * 8192
			go func() {
				defer wg.Done()
				if _, err := origin.WriteAt(bytes.Repeat([]byte{byte(1 + r)}, 4096), off); err != nil {
					errs <- err
				}
			}()
			go func() {
				defer wg.Done()
				if _, err := snap.WriteAt(bytes.Repeat([]byte{byte(100 + r)}, 512), off+4096); err != nil {
					errs <- err
				}
			}()
			go func() {
				defer wg.Done()
				p := make([]byte, 4096)
				if _, err := snap.ReadAt(p, off); err != nil {
					errs <- err
				} else if !bytes.Equal(p, before[off:off+4096]) {
					errs <- errChanged
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for c := 0; c < chunks; c++ {
		off := int64(c) * 8192
		s := g.mustRead("s", off, 8192)
		dmtest.MustEqual(t, "snapshot's unwritten half", s[:4096], before[off:off+4096])
		if v := s[4096]; v < 100 || v >= 100+rounds || !bytes.Equal(s[4096:4608], bytes.Repeat([]byte{v}, 512)) {
			t.Fatalf("chunk %d: snapshot write torn or lost", c)
		}
		dmtest.MustEqual(t, "snapshot's untouched tail", s[4608:], before[off+4608:off+8192])
		o := g.mustRead("origin", off, 4096)
		if v := o[0]; v < 1 || v > rounds || !bytes.Equal(o, bytes.Repeat([]byte{v}, 4096)) {
			t.Fatalf("chunk %d: origin write torn", c)
		}
	}
	if img := readCOW(t, g.Path("cow")); len(img.exceptions) != chunks {
		t.Fatalf("%d exceptions for %d chunks", len(img.exceptions), chunks)
	}
}

var errChanged = errors.New("a snapshot read saw the origin's new data")

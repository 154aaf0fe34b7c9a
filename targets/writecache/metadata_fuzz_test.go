package writecache

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// fuzzCacheBytes is the cache device of FuzzWritecacheMetadata: 64 KiB,
// 15 blocks of 4 KiB after their metadata.
const fuzzCacheBytes = 64 << 10

// fuzzMessages are sent to a writecache built over damaged metadata: a
// flush commits and a cleaner writes every entry back.
var fuzzMessages = [][]string{{"flush"}, {"cleaner"}, {"flush_on_suspend"}}

// fuzzImage is a cache device the package wrote: blocks cached at
// sectors 0, 8, 800 and 2040, one of them written twice, committed and
// left dirty (no writeback: watermarks at 100%).
func fuzzImage(t testing.TB) []byte {
	e := newEnv(t)
	origin, cache := e.Sparse("origin", 1<<20), e.Sparse("cache", fuzzCacheBytes)
	w := e.Create(2048, "s "+origin+" "+cache+" 4096 4 high_watermark 100 low_watermark 99")
	for i, sector := range []uint64{0, 8, 800, 2040, 8} {
		if err := w.WriteAt(pattern(byte(i), 4096), sector); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	e.Remove(w)
	img, err := os.ReadFile(cache)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// FuzzWritecacheMetadata damages the metadata of a cache device the
// package wrote (its superblock and entries, or a data block) and builds
// a writecache on it, SSD or pmem mode, then resumes it, does I/O, sends
// the messages and removes it: no panic, no hang, and a refused table
// leaves the cache device as it was.
func FuzzWritecacheMetadata(f *testing.F) {
	img := fuzzImage(f)
	f.Add(false, uint16(0), uint16(offNBlocks), []byte{0})
	f.Add(false, uint16(0), uint16(offNBlocks), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add(true, uint16(0), uint16(offNBlocks), []byte{1})
	f.Add(false, uint16(0), uint16(offSeqCount), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add(true, uint16(0), uint16(offBlockSize), []byte{0, 2})
	f.Add(false, uint16(0), uint16(sbBytes+8), bytes.Repeat([]byte{1, 0, 0, 0, 0, 0, 0, 0}, 8))
	f.Add(false, uint16(0), uint16(sbBytes), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add(true, uint16(2), uint16(100), []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, pmem bool, pick, offBytes uint16, patch []byte) {
		bad, _ := dmtest.Damage{Pick: pick, OffBytes: offBytes, Patch: patch}.Apply(img, 4096)
		e := newEnv(t)
		origin, cache := e.Sparse("origin", 1<<20), e.Path("cache")
		if err := os.WriteFile(cache, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		mode := "s"
		if pmem {
			mode = "p"
		}
		dmtest.Within(t, "a writecache over damaged metadata", func() error {
			w, err := e.Build(2048, mode+" "+origin+" "+cache+" 4096 0")
			if err != nil {
				if after, _ := os.ReadFile(cache); !bytes.Equal(after, bad) {
					return fmt.Errorf("a refused table (%v) wrote to its cache device", err)
				}
				return nil
			}
			dmtest.Exercise(w, 8192, fuzzMessages...)
			return nil
		}, nil)
	})
}

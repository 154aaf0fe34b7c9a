package cache_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// FuzzCacheTable builds cache tables from fuzzed words after the three
// devices (real files): a table is refused with a constructor error or
// built, never a panic, and a refused one writes nothing to its metadata
// device; a built one then takes a fuzzed message, a suspend and a resume
// as a new process, and its metadata passes cache_check.
func FuzzCacheTable(f *testing.F) {
	f.Add("128 1 writeback smq 2 migration_threshold 0", "invalidate_cblocks 0-3")
	f.Add("128 2 metadata2 passthrough smq 0", "invalidate_cblocks 1 2-3 x")
	f.Add("192 3 writethrough metadata2 no_discard_passdown mq 4 sequential_threshold 5 random_threshold 1", "migration_threshold 9")
	f.Add("+64 0 cleaner 0", "frobnicate")
	f.Add("128 1 WRITEBACK default 1 migration_threshold", "sequential_threshold 1")
	f.Add("64 4 a b c d smq 0", "")
	f.Add("1048576 0 smq 0", "invalidate_cblocks")
	f.Fuzz(func(t *testing.T, rest, message string) {
		for _, w := range strings.Fields(rest + " " + message) {
			if strings.ContainsRune(w, 0) {
				return
			}
		}
		g := dmtest.New(t)
		meta, cdev, origin := g.File("meta", 1<<20, false), g.File("cdev", 1<<20, false), g.File("origin", 2<<20, false)
		args := append([]string{meta, cdev, origin}, strings.Fields(rest)...)
		if err := g.Create("c", 2<<20/512, "cache", args...); err != nil {
			if raw, _ := os.ReadFile(meta); !bytes.Equal(raw, make([]byte, 1<<20)) {
				t.Fatalf("a refused table (%v) wrote to its metadata device", err)
			}
			return
		}
		g.Reg.Message("c", 0, strings.Fields(message))
		g.Reopen()
		if err := g.Reg.Suspend("c"); err != nil {
			t.Fatal(err)
		}
		g.Reopen()
		if err := g.Reg.Resume("c"); err != nil {
			t.Fatal(err)
		}
		g.Reg.Lines("c", false, true)
		g.Reopen()
		if _, err := g.Reg.Message("c", 0, strings.Fields(message)); err == nil && message == "" {
			t.Fatal("an empty message was taken")
		}
		g.Reopen()
		cacheCheck(t, meta)
	})
}

package cache_test

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// TestKernelImage opens metadata Linux 6.1 wrote (testdata/kernel-cache.sh,
// formats 1 and 2: blocks 0, 3 and 17 promoted by whole-block writes,
// dirty, the table then removed): gdmsetup must load the three mappings
// and their dirty bits, read the device as the kernel read it
// (testdata/kernel-cache.out's sha256 of its first 18 blocks), pass
// cache_check after its own commit, and keep the mappings through a
// suspend (cache_dump).
func TestKernelImage(t *testing.T) {
	transcript, err := os.ReadFile(filepath.Join("testdata", "kernel-cache.out"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1", "2"} {
		t.Run("v"+v, func(t *testing.T) {
			g := dmtest.New(t)
			meta, cdev, origin := g.Path("meta"), g.Path("cdev"), g.File("origin", 8<<20, false)
			gunzip(t, "kernel-meta"+v+".img", meta)
			gunzip(t, "kernel-cdev"+v+".img", cdev)
			feat := "1 writeback"
			if v == "2" {
				feat = "2 metadata2 writeback"
			}
			args := append([]string{meta, cdev, origin, "128"}, strings.Fields(feat+" smq 2 migration_threshold 0")...)
			g.MustCreate("c", 16384, "cache", args...)
			st := g.Line("c", true)
			if field(t, st, 3) != "3/32" || field(t, st, 10) != "3" {
				t.Fatalf("status %q: want the kernel's 3/32 cache blocks, 3 dirty", st)
			}
			sum := fmt.Sprintf("%x", sha256.Sum256(read(t, g, "c", 0, 18<<16)))
			section := strings.SplitAfter(string(transcript), "metadata version "+v)[1]
			if !strings.Contains(section, sum) {
				t.Errorf("the first 18 blocks read as %s, not as the kernel read them", sum)
			}
			g.Reopen()
			cacheCheck(t, meta)
			if err := g.Reg.Suspend("c"); err != nil {
				t.Fatal(err)
			}
			g.Reopen()
			cacheCheck(t, meta)
			dump := dmtest.RunPeer(t, "cache_dump", meta)
			for i, ob := range []int{0, 3, 17} {
				if !strings.Contains(dump, fmt.Sprintf(`<mapping cache_block="%d" origin_block="%d"`, i, ob)) {
					t.Errorf("cache_dump lacks cache block %d → origin block %d:\n%s", i, ob, dump)
				}
			}
		})
	}
}

package integrity

import (
	"os"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// FuzzIntegrityTable builds integrity tables from fuzzed words over a
// zeroed and a formatted device: no panic, a refused table leaves the
// devices as they were, and an accepted one reads back what it is sent
// (mode R aside). DEV and META in the words stand for the files.
func FuzzIntegrityTable(f *testing.F) {
	for _, s := range []string{
		"DEV 0 - D 1 internal_hash:crc32c",
		"DEV 0 - J 1 internal_hash:sha256",
		"DEV 0 - B 2 internal_hash:crc32c sectors_per_bit:8",
		"DEV 0 4 R 1 internal_hash:crc32c",
		"DEV 0 8 D 0",
		"DEV 8 - J 5 internal_hash:sha1 journal_sectors:100 interleave_sectors:8 buffer_sectors:1 journal_watermark:0",
		"DEV 0 - J 3 meta_device:META block_size:4096 internal_hash:crc32c",
		"DEV 0 - D 3 internal_hash:hmac(sha256):0011 journal_mac:hmac(sha1):22 fix_hmac",
		"DEV 0 - D 4 internal_hash:crc32c recalculate allow_discards fix_padding",
		"DEV 0 3 J 2 internal_hash:sha512 commit_time:0",
		"DEV 0 - B 3 internal_hash:md5 bitmap_flush_interval:0 sectors_per_bit:0",
		"DEV 18446744073709551615 - D 1 internal_hash:crc32c",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, table string, formatted bool) {
		e := newEnv(t)
		dev, meta := e.Sparse("dev", 1<<20), e.Sparse("meta", 256<<10)
		if formatted {
			x := e.Create(512, "dev 0 - J 1 internal_hash:crc32c")
			dmtest.WriteAt(t, x, 8, pattern(1, 4096))
			e.Remove(x)
		}
		before, _ := os.ReadFile(dev)
		beforeMeta, _ := os.ReadFile(meta)
		words := strings.Fields(strings.NewReplacer("DEV", dev, "META", meta).Replace(table))
		x, err := e.Build(256, strings.Join(words, " "))
		if err != nil {
			after, _ := os.ReadFile(dev)
			afterMeta, _ := os.ReadFile(meta)
			if string(after) != string(before) || string(afterMeta) != string(beforeMeta) {
				t.Fatalf("%q refused (%v) but a device changed", table, err)
			}
			return
		}
		x.Resume()
		buf := pattern(2, 8192)
		if err := x.WriteAt(buf, 0); err == nil && x.failed == 0 {
			got := make([]byte, len(buf))
			if err := x.ReadAt(got, 0); err == nil && string(got) != string(buf) && x.cfg.mode != 'R' {
				t.Fatalf("%q: a write does not read back", table)
			}
		}
		x.Discard(0, 8)
		x.Flush()
		x.Status()
		x.Table()
		e.Remove(x)
	})
}

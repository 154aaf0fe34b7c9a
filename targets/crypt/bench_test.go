package crypt_test

import (
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// BenchmarkIO64K is 64 KiB reads and writes through crypt tables of the
// usual ciphers and through linear over the same file (page cache), so the
// cost of the encryption shows as the difference.
func BenchmarkIO64K(b *testing.B) {
	for _, c := range []struct{ name, table string }{
		{"linear", "linear"},
		{"xts-plain64-512", "crypt aes-xts-plain64 " + key32 + key32 + " 0"},
		{"xts-plain64-256-4096", "crypt aes-xts-plain64 " + key32 + " 0 DEV 0 1 sector_size:4096"},
		{"cbc-essiv-256", "crypt aes-cbc-essiv:sha256 " + key32 + " 0"},
	} {
		for _, write := range []bool{false, true} {
			op := "read"
			if write {
				op = "write"
			}
			b.Run(c.name+"/"+op, func(b *testing.B) {
				g := dmtest.New(b)
				dev := g.File("d", 64<<20, true)
				words := strings.Fields(c.table)
				switch {
				case words[0] == "linear":
					words = append(words, dev, "0")
				case len(words) == 4:
					words = append(words, dev, "0")
				default:
					words[4] = dev
				}
				g.MustCreate("c", 64<<20/512, words[0], words[1:]...)
				d := g.Device("c")
				buf := dmtest.Random(64 << 10)
				b.SetBytes(int64(len(buf)))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					off := int64(i%1024) * int64(len(buf))
					var err error
					if write {
						_, err = d.WriteAt(buf, off)
					} else {
						_, err = d.ReadAt(buf, off)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

package verity_test

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// BenchmarkSequentialRead1M is sequential 1 MiB reads over a 64 MiB file
// (page cache) through linear and through verity tables (4096-byte
// blocks, a tree veritysetup formats), so the cost of the verification
// shows as the difference; with check_at_most_once only the first pass
// over a block hashes it.
func BenchmarkSequentialRead1M(b *testing.B) {
	const sizeBytes = 64 << 20
	for _, c := range []struct{ name, alg, opt string }{
		{"linear", "", ""},
		{"verity-sha256", "sha256", ""},
		{"verity-sha1", "sha1", ""},
		{"verity-sha256-at-most-once", "sha256", "check_at_most_once"},
	} {
		b.Run(c.name, func(b *testing.B) {
			g := dmtest.New(b)
			data := g.File("data", sizeBytes, true)
			var d *dm.Device
			if c.alg == "" {
				d = g.MustCreate("v", sizeBytes/512, "linear", data, "0")
			} else {
				needVeritysetup(b)
				tr := format(b, data, g.Path("hash"), "--hash", c.alg)
				args := []string{"1", data, tr.hash, "4096", "4096", "16384", "0", c.alg, tr.root, tr.salt}
				if c.opt != "" {
					args = append(args, "1", c.opt)
				}
				if err := createRO(g, "v", sizeBytes/512, args...); err != nil {
					b.Fatal(err)
				}
				d = g.Device("v")
			}
			buf := make([]byte, 1<<20)
			b.SetBytes(int64(len(buf)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := d.ReadAt(buf, int64(i%(sizeBytes>>20))<<20); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFECCorrectBlock reads one data block whose every byte is wrong
// through a verity table with FEC (a tree and parity veritysetup made,
// 1500 blocks, 2 and 24 roots): each read fails its digest, is read again,
// and is corrected from the parity (the rsn blocks of its codewords read
// and their digests looked up, 4096 codewords decoded, the result hashed).
// The time per operation is the time per corrected block.
func BenchmarkFECCorrectBlock(b *testing.B) {
	needVeritysetup(b)
	for _, roots := range []int{2, 24} {
		b.Run(fmt.Sprintf("roots-%d", roots), func(b *testing.B) {
			g := dmtest.New(b)
			im := formatFEC(b, g, 1500, roots, false)
			if err := createRO(g, "v", im.lenSectors, im.fecTable...); err != nil {
				b.Fatal(err)
			}
			const block = 700
			corruptBytes(b, im.data, []int{block}, 4096, 7)
			g.Reopen()
			buf := make([]byte, 4096)
			b.SetBytes(4096)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := g.Device("v").ReadAt(buf, block*4096); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if !bytes.Equal(buf, im.original[block*4096:(block+1)*4096]) {
				b.Fatal("the block read is not the one formatted")
			}
		})
	}
}

// BenchmarkFECImage reads a whole 16 MiB image (4096 blocks, 1 MiB at a
// time) through a verity table with FEC of 2 and 24 roots: clean, and
// with every 8th block damaged (8 bytes changed at a place of its own, so
// that no codeword holds two wrong bytes and every damaged block is
// corrected by the first pass). The clean read costs what a read without
// FEC does; the damaged one is 512 corrected blocks.
func BenchmarkFECImage(b *testing.B) {
	needVeritysetup(b)
	const dataBlocks = 4096
	for _, roots := range []int{2, 24} {
		for _, damaged := range []bool{false, true} {
			name := fmt.Sprintf("roots-%d/clean", roots)
			if damaged {
				name = fmt.Sprintf("roots-%d/every-8th-damaged", roots)
			}
			b.Run(name, func(b *testing.B) {
				g := dmtest.New(b)
				im := formatFEC(b, g, dataBlocks, roots, false)
				if err := createRO(g, "v", im.lenSectors, im.fecTable...); err != nil {
					b.Fatal(err)
				}
				if damaged {
					damageEvery8th(b, im.data, dataBlocks)
					g.Reopen()
				}
				buf := make([]byte, 1<<20)
				b.SetBytes(dataBlocks * 4096)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					for off := 0; off < dataBlocks*4096; off += len(buf) {
						if _, err := g.Device("v").ReadAt(buf, int64(off)); err != nil {
							b.Fatal(err)
						}
						if i == 0 && !bytes.Equal(buf, im.original[off:off+len(buf)]) {
							b.Fatalf("the MiB at %d is not the one formatted", off)
						}
					}
				}
			})
		}
	}
}

// damageEvery8th changes 8 bytes of every 8th block of the image at path:
// block n from byte 8*n mod 4096 on. The blocks of one codeword set are
// rounds apart, so their damaged bytes are at different places (for the
// rounds of a 16 MiB image) and each codeword has at most one wrong byte.
func damageEvery8th(b *testing.B, path string, dataBlocks int) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	junk := []byte("DAMAGED!")
	for n := 0; n < dataBlocks; n += 8 {
		if _, err := f.WriteAt(junk, int64(n)*4096+int64(8*n%4096)); err != nil {
			b.Fatal(err)
		}
	}
}

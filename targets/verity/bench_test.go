package verity_test

import (
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

package writecache

import (
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
	"github.com/gdmsetup/gdmsetup/targets/linear"
)

// BenchmarkRandomWrite4K writes 4 KiB blocks at random over a 256 MiB
// origin file, with a flush every 64 writes, through linear and through
// writecache (a 64 MiB cache device: writeback runs between the default
// watermarks, pause_writeback 0). The ratio of their ns/op is what the
// cache costs or saves on files.
func BenchmarkRandomWrite4K(b *testing.B) {
	const originBytes = 256 << 20
	for _, name := range []string{"linear", "writecache"} {
		b.Run(name, func(b *testing.B) {
			e := newEnv(b)
			origin := e.Sparse("origin", originBytes)
			var tg targets.Target
			if name == "linear" {
				var err error
				if tg, err = linear.New(e.Context(originBytes/512), strings.Fields(origin+" 0")); err != nil {
					b.Fatal(err)
				}
			} else {
				w := e.Create(originBytes/512, "s "+origin+" "+e.Sparse("cache", 64<<20)+" 4096 2 pause_writeback 0")
				defer e.EndProcess(w)
				tg = w
			}
			dmtest.RandomWrites(b, tg, originBytes, pattern(3, 4096))
		})
	}
}

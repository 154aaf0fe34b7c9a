package thin_test

import (
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
)

// benchDevice makes a 1 GiB device over a 1 GiB data file: a fresh thin
// device (kind "thin") or a linear device over the same kind of file.
func benchDevice(b *testing.B, kind string) *dm.Device {
	dir := b.TempDir()
	data := filepath.Join(dir, "data.img")
	os.WriteFile(data, nil, 0o644)
	os.Truncate(data, 1<<30)
	reg, err := dm.Open(filepath.Join(dir, "state"), io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { reg.Close() })
	const sectors = 1 << 21
	if kind == "linear" {
		if err := reg.Create("dev", "", []dm.TargetLine{{Len: sectors, Type: "linear", Args: []string{data, "0"}}}, false); err != nil {
			b.Fatal(err)
		}
	} else {
		meta := filepath.Join(dir, "meta.img")
		os.WriteFile(meta, nil, 0o644)
		os.Truncate(meta, 64<<20)
		args := []string{meta, data, strconv.Itoa(blockSectors), "0"}
		if err := reg.Create("pool", "", []dm.TargetLine{{Len: sectors, Type: "thin-pool", Args: args}}, false); err != nil {
			b.Fatal(err)
		}
		if _, err := reg.Message("pool", 0, []string{"create_thin", "0"}); err != nil {
			b.Fatal(err)
		}
		if err := reg.Create("dev", "", []dm.TargetLine{{Len: sectors, Type: "thin", Args: []string{"/dev/mapper/pool", "0"}}}, false); err != nil {
			b.Fatal(err)
		}
	}
	d, _ := reg.Lookup("dev")
	if err := d.Prepare(); err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkWrite compares thin (provisioning on first touch) with linear
// over the same kind of data file: 4 KiB random writes and 1 MiB
// sequential writes; and random 4 KiB reads of written blocks.
func BenchmarkWrite(b *testing.B) {
	for _, kind := range []string{"linear", "thin"} {
		b.Run(fmt.Sprintf("random4K/%s", kind), func(b *testing.B) {
			d := benchDevice(b, kind)
			buf := make([]byte, 4096)
			rng := rand.New(rand.NewSource(1))
			b.SetBytes(4096)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := d.WriteAt(buf, rng.Int63n(1<<18)*4096); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("seq1M/%s", kind), func(b *testing.B) {
			d := benchDevice(b, kind)
			buf := make([]byte, 1<<20)
			b.SetBytes(1 << 20)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := d.WriteAt(buf, int64(i%1024)<<20); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("randomRead4K/%s", kind), func(b *testing.B) {
			d := benchDevice(b, kind)
			buf := make([]byte, 1<<20)
			for i := 0; i < 64; i++ {
				d.WriteAt(buf, int64(i)<<20)
			}
			rng := rand.New(rand.NewSource(2))
			b.SetBytes(4096)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := d.ReadAt(buf[:4096], rng.Int63n(64<<8)*4096); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

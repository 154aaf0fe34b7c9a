package era

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/pdata/block"
)

// fuzzMessages are sent to an era built over damaged metadata: they walk
// the writeset tree and the era array, and archive the current writeset.
var fuzzMessages = [][]string{{"checkpoint"}, {"take_metadata_snap"}, {"drop_metadata_snap"}}

// FuzzEraMetadata damages one block of metadata Linux 6.1 wrote
// (testdata/kernel-era-snap and nosnap: three eras, with and without a
// metadata snapshot) and gives it to the era tools (check, dump, dump
// --repair and --logical, invalidate) and to the target (a table load, a
// resume, I/O, the messages, a suspend): no panic, no hang, and a refused
// table leaves the metadata device as it was.
func FuzzEraMetadata(f *testing.F) {
	images := [][]byte{dmtest.GunzipBytes(f, "testdata/kernel-era-snap.img.gz"), dmtest.GunzipBytes(f, "testdata/kernel-era-nosnap.img.gz")}
	for _, img := range images {
		e, _ := fuzzEnv(f, img)
		dmtest.Exercise(e.MustConstruct(e.LoadContext(8192), "meta origin 8"), 4096, fuzzMessages...)
	}
	f.Add(false, uint16(0), uint16(sbOffNrBlocks), []byte{0xff, 0xff, 0xff, 0x7f}, true)
	f.Add(true, uint16(0), uint16(sbOffWSNrBits), []byte{0xff, 0xff, 0xff, 0xff}, true)
	f.Add(false, uint16(0), uint16(sbOffCurrentEra), []byte{0xff, 0xff, 0xff, 0xff}, true)
	f.Add(false, uint16(0), uint16(sbOffMetadataSnp), []byte{7}, true)
	f.Add(true, uint16(0), uint16(sbOffEraArray), []byte{1}, true)
	f.Add(false, uint16(2), uint16(40), []byte{0xff, 0xff}, true)
	f.Add(false, uint16(4), uint16(100), []byte{1, 2, 3}, false)
	f.Add(true, uint16(6), uint16(24), []byte{9, 9, 9, 9}, true)
	f.Fuzz(func(t *testing.T, nosnap bool, pick, offBytes uint16, patch []byte, reseal bool) {
		img := images[0]
		if nosnap {
			img = images[1]
		}
		bad, _ := dmtest.Damage{Pick: pick, OffBytes: offBytes, Patch: patch, Reseal: reseal}.Apply(img, block.BlockSize, dmtest.PdataValidators(sbValidator)...)
		e, meta := fuzzEnv(t, bad)
		dmtest.Within(t, "era tools and target on damaged metadata", func() error {
			fuzzTools(bad)
			x, err := e.Build(8192, "meta origin 8")
			if err != nil {
				if after, _ := os.ReadFile(meta); !bytes.Equal(after, bad) {
					return fmt.Errorf("a refused table (%v) wrote to its metadata device", err)
				}
				return nil
			}
			dmtest.Exercise(x, 4096, fuzzMessages...)
			return nil
		}, nil)
	})
}

// fuzzEnv is an env whose file meta holds img, with an origin of 4 MiB
// as the kernel wrote testdata's images on.
func fuzzEnv(t testing.TB, img []byte) (e *env, meta string) {
	e = newEnv(t)
	e.Args = e.FileArgs
	meta = e.Path("meta")
	if err := os.WriteFile(meta, img, 0o600); err != nil {
		t.Fatal(err)
	}
	e.Sparse("origin", 4<<20)
	return e, meta
}

// fuzzTools runs check, dump (plain, repairing, logical) and invalidate
// (of the live metadata and of its snapshot) on the metadata img.
func fuzzTools(img []byte) {
	r := bytes.NewReader(img)
	Check(r, int64(len(img)), io.Discard)
	m, err := OpenTool(r, int64(len(img)))
	if err != nil {
		return
	}
	m.Dump(io.Discard, false, false)
	m.Dump(io.Discard, true, false)
	m.Dump(io.Discard, true, true)
	m.WrittenSince(io.Discard, 1, false)
	m.WrittenSince(io.Discard, 0, true)
}

package cache

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/pdata/block"
)

// FuzzCacheMetadata damages one block of the metadata Linux 6.1 wrote
// (testdata/kernel-meta1 and 2: format 1 and 2, three dirty blocks) and
// gives it to the cache tools (check, dump, repair, writeback's plan) and
// to the target (a table load, a resume, I/O, a suspend): no panic, no
// hang, and a refused table leaves the metadata device as it was. What
// cache_repair writes from it must pass the check.
func FuzzCacheMetadata(f *testing.F) {
	images := [][]byte{dmtest.GunzipBytes(f, "testdata/kernel-meta1.img.gz"), dmtest.GunzipBytes(f, "testdata/kernel-meta2.img.gz")}
	for i, feat := range []string{"1 writeback", "2 metadata2 writeback"} {
		e, _ := fuzzEnv(f, images[i])
		dmtest.Exercise(e.MustConstruct(e.LoadContext(16384), "meta cdev origin 128 "+feat+" smq 0"), 64<<10)
	}
	f.Add(false, uint16(0), uint16(sbOffDiscardNrBlocks), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, true)
	f.Add(true, uint16(0), uint16(sbOffCacheBlocks), []byte{0xff, 0xff, 0xff}, true)
	f.Add(true, uint16(0), uint16(sbOffDirtyRoot), []byte{200}, true)
	f.Add(false, uint16(0), uint16(sbOffHintRoot), []byte{3}, true)
	f.Add(false, uint16(0), uint16(sbOffPolicyHintSize), []byte{8}, true)
	f.Add(false, uint16(1), uint16(40), []byte{0xff, 0xff}, true)
	f.Add(true, uint16(3), uint16(100), []byte{1, 2, 3}, false)
	f.Add(false, uint16(5), uint16(24), []byte{9, 9, 9, 9}, true)
	f.Fuzz(func(t *testing.T, v2 bool, pick, offBytes uint16, patch []byte, reseal bool) {
		img, feat := images[0], "1 writeback"
		if v2 {
			img, feat = images[1], "2 metadata2 writeback"
		}
		bad, _ := dmtest.Damage{Pick: pick, OffBytes: offBytes, Patch: patch, Reseal: reseal}.Apply(img, block.BlockSize, dmtest.PdataValidators(sbValidator)...)
		e, meta := fuzzEnv(t, bad)
		dmtest.Within(t, "cache tools and target on damaged metadata", func() error {
			if err := fuzzTools(bad); err != nil {
				return err
			}
			c, err := e.Build(16384, "meta cdev origin 128 "+feat+" smq 0")
			if err != nil {
				if after, _ := os.ReadFile(meta); !bytes.Equal(after, bad) {
					return fmt.Errorf("a refused table (%v) wrote to its metadata device", err)
				}
				return nil
			}
			dmtest.Exercise(c, 64<<10)
			return nil
		}, nil)
	})
}

// fuzzEnv is an env whose file meta holds img, with a cache device of 2
// MiB and an origin of 8 MiB, as the kernel wrote testdata's images on.
func fuzzEnv(t testing.TB, img []byte) (e *dmtest.TargetEnv[*Cache], meta string) {
	e = dmtest.NewTargetEnv[*Cache](t, t.TempDir(), New)
	e.Args = e.FileArgs
	meta = e.Path("meta")
	if err := os.WriteFile(meta, img, 0o600); err != nil {
		t.Fatal(err)
	}
	e.Sparse("cdev", 2<<20)
	e.Sparse("origin", 8<<20)
	return e, meta
}

// fuzzTools runs check, dump (plain and repairing), repair and writeback's
// plan on the metadata img. What repair writes must open and dump (as
// cache_repair 0.9.0's, it need not check clean: a mapping the damage
// doubled is written as it is read).
func fuzzTools(img []byte) error {
	r := bytes.NewReader(img)
	Check(r, int64(len(img)), CheckOptions{}, io.Discard)
	m, err := OpenTool(r, int64(len(img)))
	if err != nil {
		return nil
	}
	m.Dump(io.Discard, false)
	m.Dump(io.Discard, true)
	m.WritebackPlan(func(Damage) {})
	out := &memDevice{b: make([]byte, len(img))}
	if err := Repair(m, out); err != nil {
		return nil
	}
	repaired, err := OpenTool(bytes.NewReader(out.b), int64(len(out.b)))
	if err != nil {
		return fmt.Errorf("what repair wrote does not open: %w", err)
	}
	if err := repaired.Dump(io.Discard, false); err != nil {
		return fmt.Errorf("what repair wrote does not dump: %w", err)
	}
	return nil
}

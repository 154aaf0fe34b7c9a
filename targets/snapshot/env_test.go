package snapshot_test

import (
	"encoding/binary"
	"os"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	_ "github.com/gdmsetup/gdmsetup/targets/all"
)

// rig is a registry with files in Files: "base" (the origin's data, random)
// and COW files made on demand.
type rig struct{ *dmtest.Rig }

const baseBytes = 2 << 20

func newRig(t testing.TB) *rig {
	t.Helper()
	g := &rig{Rig: dmtest.New(t)}
	g.File("base", baseBytes, true)
	return g
}

func (g *rig) create(name string, lenSectors uint64, typ, table string) error {
	return g.Create(name, lenSectors, typ, g.Args(table)...)
}

func (g *rig) mustCreate(name string, lenSectors uint64, typ, table string) {
	g.T.Helper()
	g.MustCreate(name, lenSectors, typ, g.Args(table)...)
}

// stack makes the LVM layout over "base": a linear device base, snapshots
// of it (name -> "COW P 8"-style arguments after the origin), then the
// origin device.
func (g *rig) stack(snaps ...[2]string) {
	g.T.Helper()
	g.mustCreate("lbase", baseBytes/512, "linear", "base 0")
	for _, s := range snaps {
		g.mustCreate(s[0], baseBytes/512, "snapshot", "/dev/mapper/lbase "+s[1])
	}
	g.mustCreate("origin", baseBytes/512, "snapshot-origin", "/dev/mapper/lbase")
}

func (g *rig) write(name string, off int64, p []byte) error {
	_, err := g.Device(name).WriteAt(p, off)
	return err
}

func (g *rig) mustWrite(name string, off int64, p []byte) {
	g.T.Helper()
	if err := g.write(name, off, p); err != nil {
		g.T.Fatalf("write %s at %d: %v\n%s", name, off, err, g.Klog.String())
	}
}

func (g *rig) read(name string, off int64, n int) ([]byte, error) {
	p := make([]byte, n)
	_, err := g.Device(name).ReadAt(p, off)
	return p, err
}

func (g *rig) mustRead(name string, off int64, n int) []byte {
	g.T.Helper()
	p, err := g.read(name, off, n)
	if err != nil {
		g.T.Fatalf("read %s at %d: %v", name, off, err)
	}
	return p
}

func (g *rig) status(name string) string { g.T.Helper(); return g.Line(name, true) }

// cowImage is a persistent COW device decoded independently of the
// package: its header and every exception of its areas, in order.
type cowImage struct {
	magic, valid, version, chunkSectors uint32
	exceptions                          [][2]uint64
	raw                                 []byte
}

func readCOW(t testing.TB, path string) cowImage {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	c := cowImage{magic: le.Uint32(raw), valid: le.Uint32(raw[4:]), version: le.Uint32(raw[8:]),
		chunkSectors: le.Uint32(raw[12:]), raw: raw}
	if c.magic != 0x70416e53 {
		return c
	}
	chunkBytes := int(c.chunkSectors) * 512
	perArea := chunkBytes / 16
	for area := 0; ; area++ {
		at := (1 + (perArea+1)*area) * chunkBytes
		if at+chunkBytes > len(raw) {
			return c
		}
		for i := 0; i < perArea; i++ {
			o, n := le.Uint64(raw[at+16*i:]), le.Uint64(raw[at+16*i+8:])
			if n == 0 {
				return c
			}
			c.exceptions = append(c.exceptions, [2]uint64{o, n})
		}
	}
}

// chunk returns COW chunk n's bytes.
func (c cowImage) chunk(n uint64) []byte {
	cb := uint64(c.chunkSectors) * 512
	return c.raw[n*cb : (n+1)*cb]
}

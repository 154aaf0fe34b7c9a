package verity_test

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// fuzzDataBlocks is the size of FuzzVerityMetadata's data in 4 KiB blocks.
const fuzzDataBlocks = 32

// FuzzVerityMetadata damages the data, the hash tree or the FEC parity of
// an image veritysetup made (sha256, 4 KiB blocks, 2 parity roots, three
// files) and reads the whole device through verity with FEC: no panic, no
// hang, every read that succeeds gives the data as formatted (verity
// never returns what its tree does not vouch for, nor FEC a wrong
// correction), and none of the files is written.
func FuzzVerityMetadata(f *testing.F) {
	needVeritysetup(f)
	g := dmtest.New(f)
	im := formatFEC(f, g, fuzzDataBlocks, 2, false)
	files := [][]byte{im.original, im.originalHash, readFile(f, im.fec)}
	f.Add(uint8(1), uint16(0), uint16(0), []byte{0xff})
	f.Add(uint8(1), uint16(0), uint16(31*32), bytes.Repeat([]byte{0}, 32))
	f.Add(uint8(0), uint16(3), uint16(100), []byte{1, 2, 3})
	f.Add(uint8(0), uint16(5), uint16(0), bytes.Repeat([]byte{0xa5}, 4096))
	f.Add(uint8(2), uint16(0), uint16(9), []byte{7, 7})
	f.Add(uint8(2), uint16(1), uint16(0), bytes.Repeat([]byte{0xff}, 512))
	f.Fuzz(func(t *testing.T, which uint8, pick, offBytes uint16, patch []byte) {
		g := dmtest.New(t)
		paths := []string{g.Path("data"), g.Path("hash"), g.Path("fec")}
		damaged := int(which) % len(files)
		contents := make([][]byte, len(files))
		for i, b := range files {
			contents[i] = b
			if i == damaged {
				contents[i], _ = dmtest.Damage{Pick: pick, OffBytes: offBytes, Patch: patch}.Apply(b, 4096)
			}
			if err := os.WriteFile(paths[i], contents[i], 0o600); err != nil {
				t.Fatal(err)
			}
		}
		table := append([]string(nil), im.fecTable...)
		table[1], table[2], table[12] = paths[0], paths[1], paths[2]
		dmtest.Within(t, "verity over a damaged image", func() error {
			if err := createRO(g, "v", im.lenSectors, table...); err != nil {
				return fmt.Errorf("the table of an intact tree was refused: %w", err)
			}
			d := g.Device("v")
			got := make([]byte, 4096)
			for b := range fuzzDataBlocks {
				if _, err := d.ReadAt(got, int64(b)*4096); err == nil && !bytes.Equal(got, im.original[b*4096:(b+1)*4096]) {
					return fmt.Errorf("block %d read back wrong without an error", b)
				}
			}
			g.Line("v", true)
			if err := g.Reg.Remove("v"); err != nil {
				return err
			}
			for i, p := range paths {
				if raw, _ := os.ReadFile(p); !bytes.Equal(raw, contents[i]) {
					return fmt.Errorf("%s was written", p)
				}
			}
			return nil
		}, nil)
	})
}

// readFile returns the file at path, failing the test when it cannot.
func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

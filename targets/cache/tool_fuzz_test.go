package cache

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/pdata/block"
)

// memDevice is a block.Device in memory.
type memDevice struct{ b []byte }

func (m *memDevice) ReadAt(p []byte, off int64) (int, error)  { return copy(p, m.b[off:]), nil }
func (m *memDevice) WriteAt(p []byte, off int64) (int, error) { return copy(m.b[off:], p), nil }
func (m *memDevice) Sync() error                              { return nil }
func (m *memDevice) SizeBytes() (int64, error)                { return int64(len(m.b)), nil }

const fuzzSeed = `<superblock uuid="" block_size="128" nr_cache_blocks="40" policy="smq" hint_width="4">
  <mappings>
    <mapping cache_block="0" origin_block="7" dirty="true"/>
    <mapping cache_block="39" origin_block="2" dirty="false"/>
  </mappings>
  <hints>
    <hint cache_block="0" data="PwAAAA=="/>
  </hints>
</superblock>
`

// FuzzRestoreXML feeds XML to Restore: no panic; a refused document's error
// names the input (and, for what the XML reader or an element refused, the
// line) and leaves the superblock zeroed; an accepted one reads back with Dump.
func FuzzRestoreXML(f *testing.F) {
	f.Add(fuzzSeed, uint8(1))
	f.Add(fuzzSeed, uint8(2))
	f.Add(strings.Replace(fuzzSeed, `cache_block="39"`, `cache_block="40"`, 1), uint8(1))
	f.Add("<superblock>", uint8(1))
	f.Add("<superblock uuid=\"\" block_size=\"x\"", uint8(2))
	f.Fuzz(func(t *testing.T, doc string, version uint8) {
		if len(doc) > 4096 {
			return
		}
		dev := &memDevice{b: make([]byte, 64*block.BlockSize)}
		err := Restore(strings.NewReader(doc), "in.xml", dev, RestoreOptions{Version: uint32(version%2) + 1})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "in.xml: ") {
				t.Fatalf("error does not name the input: %v", err)
			}
			if !block.AllZero(dev.b[:block.BlockSize]) && strings.Contains(doc, "<superblock") && strings.Contains(err.Error(), "line ") {
				t.Fatalf("refused, the superblock is not zeroed: %v", err)
			}
			return
		}
		m, err := OpenTool(dev, int64(len(dev.b)))
		if err != nil {
			t.Fatalf("restored metadata does not open: %v", err)
		}
		var out bytes.Buffer
		if err := m.Dump(&out, false); err != nil {
			t.Fatalf("restored metadata does not dump: %v\n%s", err, doc)
		}
	})
}

package metadata

import (
	"bytes"
	"testing"

	"github.com/gdmsetup/gdmsetup/pdata/faultdev"
)

// fuzzRestoreBlocks is the metadata device size of FuzzRestoreXML: small,
// so documents that map too much run out of space quickly.
const fuzzRestoreBlocks = 128

// FuzzRestoreXML restores arbitrary thin_dump XML as `thin restore` does: a
// document is refused with an error, writing no superblock, or restored into
// metadata that Check finds without problems. Never a panic.
func FuzzRestoreXML(f *testing.F) {
	f.Add([]byte(`<superblock uuid="" time="4" transaction="7" flags="0" version="2" data_block_size="128" nr_data_blocks="50">
  <device dev_id="0" mapped_blocks="12" transaction="0" creation_time="0" snap_time="3">
    <range_mapping origin_begin="0" data_begin="0" length="10" time="0"/>
    <single_mapping origin_block="2000" data_block="15" time="1"/>
  </device>
  <device dev_id="1" mapped_blocks="11" transaction="2" creation_time="1" snap_time="3">
    <range_mapping origin_begin="0" data_begin="0" length="5" time="0"/>
    <single_mapping origin_block="9000" data_block="15" time="1"/>
  </device>
  <device dev_id="5" mapped_blocks="0" transaction="5" creation_time="3" snap_time="3">
  </device>
</superblock>
`))
	f.Add([]byte(`<superblock uuid="" time="0" transaction="1" data_block_size="128" nr_data_blocks="100">
<device dev_id="3" mapped_blocks="2" transaction="0" creation_time="0" snap_time="0">
<single_mapping origin_block="7" data_block="99" time="0"/>
<range_mapping origin_begin="1" data_begin="10" length="5" time="0"/>
</device></superblock>`))
	f.Add([]byte(`<superblock uuid="x" time="1" transaction="2" data_block_size="64" nr_data_blocks="18446744073709551615"></superblock>`))
	f.Add([]byte(`<superblock data_block_size="128" nr_data_blocks="10"><device dev_id="0"><range_mapping origin_begin="18446744073709551615" data_begin="0" length="2" time="0"/></device></superblock>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		dev := faultdev.New(fuzzRestoreBlocks * BlockSize)
		err := RestoreXML(bytes.NewReader(doc), "fuzz.xml", dev, fuzzRestoreBlocks, SuperblockOverrides{})
		img := dev.Image()
		if err != nil {
			if !bytes.Equal(img[:BlockSize], make([]byte, BlockSize)) {
				t.Fatalf("restore failed (%v) but wrote a superblock", err)
			}
			return
		}
		if problems, _ := Check(bytes.NewReader(img)); len(problems) != 0 {
			t.Fatalf("restored metadata has problems: %v\ndocument:\n%s", problems, doc)
		}
	})
}

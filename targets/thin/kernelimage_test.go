package thin_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// unxz decompresses a testdata image into dir.
func unxz(t *testing.T, dir, name string) string {
	t.Helper()
	dmtest.Peer(t, "xz")
	out := filepath.Join(dir, name)
	b, err := exec.Command("xz", "-dc", filepath.Join("..", "..", "testdata", "kernel", name+".xz")).Output()
	if err != nil {
		t.Fatalf("xz -dc %s: %v", name, err)
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

type fullDump struct {
	BlockSize uint64 `xml:"data_block_size,attr"`
	NrBlocks  uint64 `xml:"nr_data_blocks,attr"`
	Devices   []struct {
		ID      uint64 `xml:"dev_id,attr"`
		Singles []struct {
			Origin uint64 `xml:"origin_block,attr"`
			Data   uint64 `xml:"data_block,attr"`
		} `xml:"single_mapping"`
		Ranges []struct {
			Origin uint64 `xml:"origin_begin,attr"`
			Data   uint64 `xml:"data_begin,attr"`
			Length uint64 `xml:"length,attr"`
		} `xml:"range_mapping"`
	} `xml:"device"`
}

// TestKernelImages assembles a read-only pool from the metadata and data
// the real kernel wrote: every block the real thin_dump says a thin device
// maps reads back as that data block of the data image, unmapped blocks
// read as zeros, and the images are not changed.
func TestKernelImages(t *testing.T) {
	thinDump := dmtest.Peer(t, "thin_dump")
	dir := t.TempDir()
	meta := unxz(t, dir, "thin_meta.img")
	data := unxz(t, dir, "thin_data.img")
	metaBefore, _ := os.ReadFile(meta)
	dataImage, _ := os.ReadFile(data)
	out, err := exec.Command(thinDump, meta).Output()
	if err != nil {
		t.Fatal(err)
	}
	var d fullDump
	if err := xml.Unmarshal(out, &d); err != nil {
		t.Fatal(err)
	}
	reg, err := dm.Open(filepath.Join(dir, "state"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	poolArgs := []string{meta, data, strconv.FormatUint(d.BlockSize, 10), "0", "1", "read_only"}
	if err := reg.Create("pool", "", []dm.TargetLine{{Start: 0, Len: d.NrBlocks * d.BlockSize, Type: "thin-pool", Args: poolArgs}}, true); err != nil {
		t.Fatal(err)
	}
	bsBytes := int64(d.BlockSize) * 512
	for _, dev := range d.Devices {
		name := fmt.Sprintf("thin%d", dev.ID)
		if err := reg.Create(name, "", []dm.TargetLine{{Start: 0, Len: 2097152, Type: "thin", Args: []string{"/dev/mapper/pool", strconv.FormatUint(dev.ID, 10)}}}, true); err != nil {
			t.Fatal(err)
		}
		td, _ := reg.Lookup(name)
		if err := td.Prepare(); err != nil {
			t.Fatal(err)
		}
		mapped := map[uint64]uint64{}
		for _, s := range dev.Singles {
			mapped[s.Origin] = s.Data
		}
		for _, r := range dev.Ranges {
			for i := uint64(0); i < r.Length; i++ {
				mapped[r.Origin+i] = r.Data + i
			}
		}
		buf := make([]byte, bsBytes)
		for vb, db := range mapped {
			if _, err := td.ReadAt(buf, int64(vb)*bsBytes); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf, dataImage[int64(db)*bsBytes:int64(db+1)*bsBytes]) {
				t.Fatalf("%s block %d differs from data block %d of the kernel's image", name, vb, db)
			}
		}
		if _, ok := mapped[5]; !ok {
			td.ReadAt(buf, 5*bsBytes)
			if !bytes.Equal(buf, make([]byte, bsBytes)) {
				t.Fatalf("%s: unmapped block 5 does not read as zeros", name)
			}
		}
	}
	reg.RemoveAll()
	if after, _ := os.ReadFile(meta); !bytes.Equal(after, metaBefore) {
		t.Fatal("a read-only pool changed the kernel's metadata image")
	}
}

package lvm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

// setLabelCRC recomputes the checksum of the label in sector s of img.
func setLabelCRC(img []byte, s int) {
	l := img[s*sectorBytes : (s+1)*sectorBytes]
	binary.LittleEndian.PutUint32(l[16:], crc(initialCRC, l[labelCRCFromByte:]))
}

func TestReadLabelFixtures(t *testing.T) {
	for _, tc := range []struct{ name, uuid string }{
		{"pv1", "Ue7pdP-KHEE-iUc4-4r9v-vv1g-rMS4-E9P3uj"},
		{"pv2", "EJY7mc-uWed-uCe1-LwL9-N6L0-Inwu-XWLUE0"},
	} {
		f, err := os.Open(fixture(t, tc.name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		l, err := ReadLabel(f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want := &Label{
			Sector:        1,
			UUID:          strings.ReplaceAll(tc.uuid, "-", ""),
			DevSizeBytes:  64 << 20,
			DataAreas:     []DiskArea{{OffsetBytes: 1 << 20}},
			MetadataAreas: []DiskArea{{OffsetBytes: 4096, SizeBytes: 1<<20 - 4096}},
		}
		if !reflect.DeepEqual(l, want) {
			t.Errorf("%s: label %+v, want %+v", tc.name, l, want)
		}
	}
}

func TestReadLabelCorrupt(t *testing.T) {
	good := pvHead(t, "pv1")
	const at = sectorBytes // the fixture's label is in sector 1
	for _, tc := range []struct {
		field   string
		corrupt func(img []byte)
		want    string // in the error; "" for ErrNoLabel
	}{
		{"id", func(img []byte) { img[at] = 'X' }, ""},
		{"sector_xl", func(img []byte) { img[at+8] = 2; setLabelCRC(img, 1) }, "PV label in sector 1: records sector 2"},
		{"crc_xl", func(img []byte) { img[at+16] ^= 1 }, "PV label in sector 1: checksum 0x1bf5eba3, computed 0x1bf5eba2"},
		{"covered byte", func(img []byte) { img[at+511] ^= 1 }, "PV label in sector 1: checksum 0x1bf5eba2, computed"},
		{"type", func(img []byte) { img[at+31] = '2'; setLabelCRC(img, 1) }, `PV label in sector 1: type "LVM2 002"`},
		{"offset_xl", func(img []byte) { img[at+20] = 0xd9; img[at+21] = 1; setLabelCRC(img, 1) }, "PV label in sector 1: pv_header at byte 473 of the sector"},
		{"data area list", func(img []byte) {
			for i := at + 0x48; i < at+sectorBytes; i++ {
				img[i] = 1
			}
			setLabelCRC(img, 1)
		}, "PV label in sector 1: data area list: runs past the end"},
		{"metadata area list", func(img []byte) {
			for i := at + 0x68; i < at+sectorBytes; i++ {
				img[i] = 1
			}
			setLabelCRC(img, 1)
		}, "PV label in sector 1: metadata area list: runs past the end"},
	} {
		t.Run(tc.field, func(t *testing.T) {
			img := bytes.Clone(good)
			tc.corrupt(img)
			_, err := ReadLabel(bytes.NewReader(img))
			switch {
			case tc.want == "" && !errors.Is(err, ErrNoLabel):
				t.Fatalf("error %v, want ErrNoLabel", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestReadLabelScan checks the choice among the four sectors: a bad label before a good one is
// skipped, a second good label is ignored, a device shorter than a sector has no label.
func TestReadLabelScan(t *testing.T) {
	good := pvHead(t, "pv1")[:4*sectorBytes]

	img := bytes.Clone(good)
	copy(img[0:sectorBytes], img[sectorBytes:])
	img[8] = 7 // sector 0 holds a copy of the label that claims sector 7
	l, err := ReadLabel(bytes.NewReader(img))
	if err != nil || l.Sector != 1 {
		t.Fatalf("bad label in sector 0, good in 1: %+v, %v", l, err)
	}

	img = bytes.Clone(good)
	copy(img[3*sectorBytes:], img[sectorBytes:2*sectorBytes])
	img[3*sectorBytes+8] = 3
	img[3*sectorBytes+0x20] = 'Z' // another UUID
	setLabelCRC(img, 3)
	if l, err = ReadLabel(bytes.NewReader(img)); err != nil || l.Sector != 1 || l.UUID[0] != 'U' {
		t.Fatalf("labels in sectors 1 and 3: %+v, %v", l, err)
	}

	for _, n := range []int{0, 100, sectorBytes + 100} {
		if _, err := ReadLabel(bytes.NewReader(good[:n])); !errors.Is(err, ErrNoLabel) {
			t.Errorf("%d-byte device: %v, want ErrNoLabel", n, err)
		}
	}
	if l, err := ReadLabel(bytes.NewReader(good[:2*sectorBytes])); err != nil || l.Sector != 1 {
		t.Errorf("2-sector device: %+v, %v", l, err)
	}
}

package lvm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strconv"
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

// TestReadLabelMatchesPvck compares ReadLabel with lvm2's own reader (pvck --dump headers) on
// the fixtures and on a copy of pv1 whose label was moved to sector 3.
func TestReadLabelMatchesPvck(t *testing.T) {
	if _, err := exec.LookPath("pvck"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("pvck (lvm2) missing")
		}
		t.Skip("pvck (lvm2) missing")
	}
	moved := fixture(t, "pv1")
	f, err := os.OpenFile(moved, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 4*sectorBytes)
	if _, err := f.ReadAt(head, 0); err != nil {
		t.Fatal(err)
	}
	copy(head[3*sectorBytes:], head[sectorBytes:2*sectorBytes])
	clear(head[sectorBytes : 2*sectorBytes])
	head[3*sectorBytes+8] = 3
	setLabelCRC(head, 3)
	if _, err := f.WriteAt(head, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fixture(t, "pv1"), fixture(t, "pv2"), moved} {
		img, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer img.Close()
		l, err := ReadLabel(img)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		// pvck --dump reads the label in the sector it is told (1 unless told), not the first of 4.
		cmd := exec.Command("pvck", "--dump", "headers", "--labelsector", strconv.Itoa(l.Sector), path)
		cmd.Env = append(os.Environ(), "LVM_SUPPRESS_FD_WARNINGS=1")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("pvck %s: %v\n%s", path, err, out)
		}
		want := map[string]string{}
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) >= 2 {
				want[f[0]] = f[1]
			}
		}
		got := map[string]string{
			"label_header.sector":               strconv.Itoa(l.Sector),
			"pv_header.pv_uuid":                 l.UUID,
			"pv_header.device_size":             strconv.FormatUint(l.DevSizeBytes, 10),
			"pv_header.disk_locn[0].offset":     strconv.FormatUint(l.DataAreas[0].OffsetBytes, 10),
			"pv_header.disk_locn[0].size":       strconv.FormatUint(l.DataAreas[0].SizeBytes, 10),
			"pv_header.disk_locn[2].offset":     strconv.FormatUint(l.MetadataAreas[0].OffsetBytes, 10),
			"pv_header.disk_locn[2].size":       strconv.FormatUint(l.MetadataAreas[0].SizeBytes, 10),
			"mda_header_1.raw_locn[0].checksum": "",
		}
		if len(l.DataAreas) != 1 || len(l.MetadataAreas) != 1 {
			t.Fatalf("%s: label %+v, want one data and one metadata area as pvck reads", path, l)
		}
		text, err := ReadMetadata(img, l.MetadataAreas[0])
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		got["mda_header_1.raw_locn[0].checksum"] = fmt.Sprintf("0x%x", crc(initialCRC, append(text, 0)))
		for k, v := range got {
			if want[k] != v {
				t.Errorf("%s: %s %q, pvck reads %q", path, k, v, want[k])
			}
		}
	}
}

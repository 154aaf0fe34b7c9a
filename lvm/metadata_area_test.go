package lvm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pv1MDA is the metadata area of the fixtures pv1 and pv2.
var pv1MDA = DiskArea{OffsetBytes: 4096, SizeBytes: 1<<20 - 4096}

// setMDAHeaderCRC recomputes the checksum of the mda_header at areaOff of img.
func setMDAHeaderCRC(img []byte, areaOff uint64) {
	h := img[areaOff : areaOff+mdaHeaderBytes]
	binary.LittleEndian.PutUint32(h, crc(initialCRC, h[mdaChecksumFrom:]))
}

// placeText writes text into the metadata area at areaOff of img starting textOff bytes into
// the area, wrapping from the area's end to just after its header as lvm2 does, and points the
// first raw_locn at it.
func placeText(img []byte, areaOff, textOff uint64, text []byte) {
	h := img[areaOff : areaOff+mdaHeaderBytes]
	areaBytes := binary.LittleEndian.Uint64(h[32:])
	first := min(uint64(len(text)), areaBytes-textOff)
	copy(img[areaOff+textOff:], text[:first])
	copy(img[areaOff+mdaHeaderBytes:], text[first:])
	binary.LittleEndian.PutUint64(h[mdaRawLocnAt:], textOff)
	binary.LittleEndian.PutUint64(h[mdaRawLocnAt+8:], uint64(len(text)))
	binary.LittleEndian.PutUint32(h[mdaRawLocnAt+16:], crc(initialCRC, text))
	setMDAHeaderCRC(img, areaOff)
}

// rawText returns the metadata text the first raw_locn of pv1MDA points to in img, as stored
// (with its NUL), assuming it does not wrap.
func rawText(img []byte) []byte {
	h := img[pv1MDA.OffsetBytes:]
	off, n := binary.LittleEndian.Uint64(h[mdaRawLocnAt:]), binary.LittleEndian.Uint64(h[mdaRawLocnAt+8:])
	return bytes.Clone(img[pv1MDA.OffsetBytes+off : pv1MDA.OffsetBytes+off+n])
}

func TestReadMetadataFixtures(t *testing.T) {
	for _, name := range []string{"pv1", "pv2"} {
		f, err := os.Open(fixture(t, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		text, err := ReadMetadata(f, pv1MDA)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, want := range []string{"vg {\n", "\nid = \"AVeA0D-L2Nm-ZTd5-et2C-fZjj-9YGE-4FDE25\"\n", "\nseqno = 17\n", "\ndescription = "} {
			if !bytes.Contains(text, []byte(want)) {
				t.Errorf("%s: metadata text lacks %q", name, want)
			}
		}
		if !bytes.HasPrefix(text, []byte("vg {\n")) || bytes.IndexByte(text, 0) >= 0 || !bytes.HasSuffix(text, []byte("\n")) {
			t.Errorf("%s: metadata text %.20q...%q: want it to start with \"vg {\" and end at its newline", name, text, text[max(len(text)-20, 0):])
		}
	}
}

func TestReadMetadataCorrupt(t *testing.T) {
	good := pvHead(t, "pv1")
	const at = 4096
	put64 := func(img []byte, off int, v uint64) {
		binary.LittleEndian.PutUint64(img[off:], v)
		setMDAHeaderCRC(img, at)
	}
	for _, tc := range []struct {
		field   string
		corrupt func(img []byte)
		want    string // in the error; "" for ErrNoMetadata
	}{
		{"checksum_xl", func(img []byte) { img[at] ^= 1 }, "metadata area at byte 4096: header checksum 0xc42f1fa3, computed 0xc42f1fa2"},
		{"covered byte", func(img []byte) { img[at+511] = 1 }, "metadata area at byte 4096: header checksum 0xc42f1fa2, computed"},
		{"magic", func(img []byte) { img[at+5] = 'l'; setMDAHeaderCRC(img, at) }, `metadata area at byte 4096: magic " lVM2 x[5A%r0N*>"`},
		{"version", func(img []byte) { img[at+20] = 2; setMDAHeaderCRC(img, at) }, "metadata area at byte 4096: version 2, want 1"},
		{"start", func(img []byte) { put64(img, at+24, 8192) }, "metadata area at byte 4096: header records start byte 8192"},
		{"size small", func(img []byte) { put64(img, at+32, 511) }, "metadata area at byte 4096: size 511 bytes, smaller than its 512-byte header"},
		{"size large", func(img []byte) { put64(img, at+32, 1<<20) }, "metadata area at byte 4096: size 1048576 bytes, larger than the 1044480 bytes of the PV label"},
		{"raw_locn flags", func(img []byte) { img[at+mdaRawLocnAt+20] = rawLocnIgnored; setMDAHeaderCRC(img, at) }, ""},
		{"raw_locn empty", func(img []byte) { put64(img, at+mdaRawLocnAt, 0); put64(img, at+mdaRawLocnAt+8, 0) }, ""},
		{"raw_locn offset in header", func(img []byte) { put64(img, at+mdaRawLocnAt, 100) }, "metadata text at byte 4196 (5252 bytes): starts inside the area's 512-byte header"},
		{"raw_locn offset", func(img []byte) { put64(img, at+mdaRawLocnAt, 1<<20) }, "metadata text at byte 1052672 (5252 bytes): outside the 1044480-byte metadata area at byte 4096"},
		{"raw_locn size", func(img []byte) { put64(img, at+mdaRawLocnAt+8, 1<<20-4096-511) }, "metadata text at byte 62464 (1043969 bytes): outside"},
		{"raw_locn size 0", func(img []byte) { put64(img, at+mdaRawLocnAt+8, 0) }, "metadata text at byte 62464: empty"},
		{"raw_locn checksum", func(img []byte) { img[at+mdaRawLocnAt+16] ^= 1; setMDAHeaderCRC(img, at) }, "metadata text at byte 62464 (5252 bytes): checksum 0x9c7d3609, computed 0x9c7d3608"},
		{"text", func(img []byte) { img[at+0xe400+100] ^= 1 }, "metadata text at byte 62464 (5252 bytes): checksum 0x9c7d3608, computed"},
	} {
		t.Run(tc.field, func(t *testing.T) {
			img := bytes.Clone(good)
			tc.corrupt(img)
			_, err := ReadMetadata(bytes.NewReader(img), pv1MDA)
			switch {
			case tc.want == "" && !errors.Is(err, ErrNoMetadata):
				t.Fatalf("error %v, want ErrNoMetadata", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestReadMetadataWrap moves the fixture's text so that it runs past the area's end and wraps
// to just after the header, as lvm2 writes it when the area fills up, at every split from one
// byte at the end to one byte wrapped.
func TestReadMetadataWrap(t *testing.T) {
	good := pvHead(t, "pv1")
	want, err := ReadMetadata(bytes.NewReader(good), pv1MDA)
	if err != nil {
		t.Fatal(err)
	}
	text := rawText(good)
	for _, atEnd := range []uint64{1, 511, 512, 2000, uint64(len(text)) - 1} {
		img := bytes.Clone(good)
		placeText(img, pv1MDA.OffsetBytes, pv1MDA.SizeBytes-atEnd, text)
		got, err := ReadMetadata(bytes.NewReader(img), pv1MDA)
		if err != nil {
			t.Fatalf("%d bytes at the end: %v", atEnd, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%d bytes at the end: text differs from the unwrapped one", atEnd)
		}
		// The part at the end alone must not pass for the text.
		img[pv1MDA.OffsetBytes+mdaHeaderBytes] ^= 1
		if _, err := ReadMetadata(bytes.NewReader(img), pv1MDA); err == nil || !strings.Contains(err.Error(), "checksum") {
			t.Fatalf("%d bytes at the end, wrapped part corrupt: %v", atEnd, err)
		}
	}
}

// TestReadMetadataShort: a device that ends inside the header or the text gives an error that
// names what could not be read.
func TestReadMetadataShort(t *testing.T) {
	good := pvHead(t, "pv1")
	for _, tc := range []struct {
		n    int
		want string
	}{
		{4096 + 100, "metadata area at byte 4096: reading its header: reading 512 bytes at byte 4096: " + io.ErrUnexpectedEOF.Error()},
		{4096 + 0xe400 + 10, "metadata text at byte 62464 (5252 bytes): reading 5252 bytes at byte 62464: " + io.ErrUnexpectedEOF.Error()},
	} {
		_, err := ReadMetadata(bytes.NewReader(good[:tc.n]), pv1MDA)
		if err == nil || err.Error() != tc.want || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%d-byte device: %v, want %q", tc.n, err, tc.want)
		}
	}
}

// TestReadMetadataMatchesPvck compares ReadMetadata with lvm2's own reader (pvck --dump
// metadata) on the fixture pv1 and on copies of it whose text wraps around the area's end.
func TestReadMetadataMatchesPvck(t *testing.T) {
	if _, err := exec.LookPath("pvck"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("pvck (lvm2) missing")
		}
		t.Skip("pvck (lvm2) missing")
	}
	path := fixture(t, "pv1")
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := make([]byte, 1<<20)
	if _, err := f.ReadAt(head, 0); err != nil {
		t.Fatal(err)
	}
	text := rawText(head)
	for _, atEnd := range []uint64{0, 1, 700, uint64(len(text)) - 1} {
		if atEnd > 0 {
			img := bytes.Clone(head)
			placeText(img, pv1MDA.OffsetBytes, pv1MDA.SizeBytes-atEnd, text)
			if _, err := f.WriteAt(img, 0); err != nil {
				t.Fatal(err)
			}
		}
		got, err := ReadMetadata(f, pv1MDA)
		if err != nil {
			t.Fatalf("%d bytes at the end: %v", atEnd, err)
		}
		dump := filepath.Join(t.TempDir(), "metadata")
		cmd := exec.Command("pvck", "--dump", "metadata", "-f", dump, path)
		cmd.Env = append(os.Environ(), "LVM_SUPPRESS_FD_WARNINGS=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%d bytes at the end: pvck: %v\n%s", atEnd, err, out)
		}
		want, err := os.ReadFile(dump)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%d bytes at the end: ReadMetadata gives %d bytes, pvck %d bytes (%.40q...)", atEnd, len(got), len(want), want)
		}
	}
}

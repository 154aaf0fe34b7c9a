package lvm

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"
)

// FuzzOnDisk reads arbitrary bytes as a PV (ReadLabel, then ReadMetadata of each metadata
// area) and as a disk (Partitions): no panic, and what is returned stays inside the input.
func FuzzOnDisk(f *testing.F) {
	// The fixture's label with its metadata area moved to byte 2048 and cut to 2 KiB: a PV of
	// 4 KiB.
	head := pvHead(f, "pv1")
	small := make([]byte, 4096)
	copy(small, head[:2*sectorBytes])
	copy(small[2048:], head[4096:4096+mdaHeaderBytes])
	binary.LittleEndian.PutUint64(small[sectorBytes+0x68:], 2048)
	binary.LittleEndian.PutUint64(small[sectorBytes+0x70:], 2048)
	setLabelCRC(small, 1)
	binary.LittleEndian.PutUint64(small[2048+24:], 2048)
	binary.LittleEndian.PutUint64(small[2048+32:], 2048)
	text := []byte("vg {\nid = \"AVeA0D-L2Nm-ZTd5-et2C-fZjj-9YGE-4FDE25\"\nseqno = 1\n}\n\x00")
	placeText(small, 2048, 600, text)
	wrapped := bytes.Clone(small)
	placeText(wrapped, 2048, 2048-7, text)
	for _, pv := range [][]byte{small, wrapped} {
		if got, err := ReadMetadata(bytes.NewReader(pv), DiskArea{OffsetBytes: 2048, SizeBytes: 2048}); err != nil || !bytes.Equal(got, text[:len(text)-1]) {
			f.Fatalf("seed PV: %q, %v", got, err)
		}
		f.Add(pv)
	}

	logical := mbrImage(8, [4]uint32{0x80, 0x83, 1, 1}, [4]uint32{0, 0x05, 2, 6})
	setEntries(logical, 2, [4]uint32{0, 0x8e, 1, 1}, [4]uint32{0, 0x05, 2, 4})
	setEntries(logical, 4, [4]uint32{0, 0x83, 1, 3})
	if parts, err := partitionsOf(logical); err != nil || len(parts) != 3 {
		f.Fatalf("seed MBR: %v, %v", parts, err)
	}
	f.Add(logical)
	f.Add(smallGPT())

	f.Fuzz(func(t *testing.T, disk []byte) {
		r := bytes.NewReader(disk)
		if l, err := ReadLabel(r); err == nil {
			if l.Sector < 0 || l.Sector > 3 || (l.Sector+1)*sectorBytes > len(disk) || len(l.UUID) != pvUUIDBytes {
				t.Fatalf("label %+v from %d bytes", l, len(disk))
			}
			for _, a := range l.MetadataAreas {
				if text, err := ReadMetadata(r, a); err == nil && len(text) > len(disk) {
					t.Fatalf("%d bytes of metadata text from %d bytes", len(text), len(disk))
				}
			}
		}
		parts, err := Partitions(r, int64(len(disk)))
		if err != nil {
			return
		}
		diskSectors := uint64(len(disk) / sectorBytes)
		for i, p := range parts {
			if p.Number < 1 || p.Number >= maxPartitions || i > 0 && p.Number <= parts[i-1].Number ||
				p.LenSectors == 0 || p.StartSectors >= diskSectors || p.LenSectors > diskSectors-p.StartSectors {
				t.Fatalf("partition %+v of %v on a disk of %d sectors", p, parts, diskSectors)
			}
		}
	})
}

// smallGPT returns a 4-sector disk with a protective MBR and a primary GPT of 4 entries, the
// first of which is a partition of sector 3.
func smallGPT() []byte {
	img := mbrImage(4, [4]uint32{0, mbrTypeGPT, 1, 3})
	e := img[2*sectorBytes:]
	e[0] = 0x8e // any non-zero type GUID
	binary.LittleEndian.PutUint64(e[32:], 3)
	binary.LittleEndian.PutUint64(e[40:], 3)
	h := img[sectorBytes:]
	copy(h, gptSignature)
	binary.LittleEndian.PutUint32(h[8:], 0x10000)
	binary.LittleEndian.PutUint32(h[12:], gptHeaderMinBytes)
	binary.LittleEndian.PutUint64(h[24:], 1)
	binary.LittleEndian.PutUint64(h[32:], 3)
	binary.LittleEndian.PutUint64(h[40:], 3)
	binary.LittleEndian.PutUint64(h[48:], 3)
	binary.LittleEndian.PutUint64(h[72:], 2)
	binary.LittleEndian.PutUint32(h[80:], 4)
	binary.LittleEndian.PutUint32(h[84:], gptEntryBytes)
	binary.LittleEndian.PutUint32(h[88:], crc32.ChecksumIEEE(e[:4*gptEntryBytes]))
	setGPTHeaderCRC(img, 1)
	return img
}

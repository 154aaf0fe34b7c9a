package lvm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrNoLabel means that none of the first four sectors of a device holds an LVM2 label: the
// device is not a PV.
var ErrNoLabel = errors.New("no LVM2 label in the first 4 sectors")

// DiskArea is an area of a PV: OffsetBytes from the PV's start, SizeBytes long (0: up to the
// PV's end).
type DiskArea struct{ OffsetBytes, SizeBytes uint64 }

// Label is a PV's label (label_header) and the pv_header it points to.
type Label struct {
	Sector        int    // 0..3, the sector that holds the label
	UUID          string // the PV's 32 UUID characters as stored, without dashes
	DevSizeBytes  uint64 // the device size lvm2 recorded
	DataAreas     []DiskArea
	MetadataAreas []DiskArea
}

const (
	sectorBytes      = 512
	labelScanSectors = 4  // LABEL_SCAN_SECTORS: lvm2 looks for the label in sectors 0..3
	labelCRCFromByte = 20 // the label checksum covers offset_xl to the end of the sector
	pvUUIDBytes      = 32
	pvHeaderBytes    = pvUUIDBytes + 8 // pv_uuid, device_size_xl; the area lists follow
	diskLocnBytes    = 16              // disk_locn: offset, size
	labelID          = "LABELONE"
	labelType        = "LVM2 001"
)

// ReadLabel reads the label of the PV that starts at byte 0 of r, the way lvm2's label scan
// does: the first of sectors 0..3 that starts "LABELONE", records its own sector number, has a
// good checksum and type "LVM2 001" is the label; other sectors starting "LABELONE" are
// ignored. It returns ErrNoLabel when no sector starts "LABELONE" (or r is shorter than a
// sector), and an error naming the sector and the field when the only labels found are bad or
// the chosen label's pv_header does not fit in its sector.
func ReadLabel(r io.ReaderAt) (*Label, error) {
	buf := make([]byte, labelScanSectors*sectorBytes)
	n, err := r.ReadAt(buf, 0)
	if n < len(buf) && err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading PV label sectors 0-%d: %w", labelScanSectors-1, err)
	}
	var firstBad error
	for sector := 0; sector < n/sectorBytes; sector++ {
		s := buf[sector*sectorBytes : (sector+1)*sectorBytes]
		if string(s[:8]) != labelID {
			continue
		}
		if err := checkLabelHeader(sector, s); err != nil {
			if firstBad == nil {
				firstBad = err
			}
			continue
		}
		l, err := parsePVHeader(sector, s)
		if err != nil {
			return nil, fmt.Errorf("PV label in sector %d: %w", sector, err)
		}
		return l, nil
	}
	if firstBad != nil {
		return nil, firstBad
	}
	return nil, ErrNoLabel
}

// checkLabelHeader makes lvm2's checks of the label_header that starts sector s: the sector
// number it records, its checksum, its type.
func checkLabelHeader(sector int, s []byte) error {
	if got := binary.LittleEndian.Uint64(s[8:]); got != uint64(sector) {
		return fmt.Errorf("PV label in sector %d: records sector %d", sector, got)
	}
	want := binary.LittleEndian.Uint32(s[16:])
	if got := crc(initialCRC, s[labelCRCFromByte:]); got != want {
		return fmt.Errorf("PV label in sector %d: checksum 0x%08x, computed 0x%08x", sector, want, got)
	}
	if string(s[24:32]) != labelType {
		return fmt.Errorf("PV label in sector %d: type %q, want %q", sector, s[24:32], labelType)
	}
	return nil
}

// parsePVHeader reads the pv_header that the label in sector s points to: the UUID, the device
// size and the two zero-terminated lists of areas, which must end inside the sector.
func parsePVHeader(sector int, s []byte) (*Label, error) {
	off := binary.LittleEndian.Uint32(s[20:])
	if off > sectorBytes-pvHeaderBytes {
		return nil, fmt.Errorf("pv_header at byte %d of the sector, past the last possible %d", off, sectorBytes-pvHeaderBytes)
	}
	l := &Label{
		Sector:       sector,
		UUID:         string(bytes.Clone(s[off : off+pvUUIDBytes])),
		DevSizeBytes: binary.LittleEndian.Uint64(s[off+pvUUIDBytes:]),
	}
	rest := s[off+pvHeaderBytes:]
	var err error
	if l.DataAreas, rest, err = areaList(rest); err != nil {
		return nil, fmt.Errorf("data area list: %w", err)
	}
	if l.MetadataAreas, _, err = areaList(rest); err != nil {
		return nil, fmt.Errorf("metadata area list: %w", err)
	}
	return l, nil
}

// areaList reads a list of disk_locn from p up to its terminator (an entry of offset 0) and
// returns the list and what follows the terminator.
func areaList(p []byte) ([]DiskArea, []byte, error) {
	var list []DiskArea
	for {
		if len(p) < diskLocnBytes {
			return nil, nil, errors.New("runs past the end of the label sector without its zero entry")
		}
		a := DiskArea{OffsetBytes: binary.LittleEndian.Uint64(p), SizeBytes: binary.LittleEndian.Uint64(p[8:])}
		p = p[diskLocnBytes:]
		if a.OffsetBytes == 0 {
			return list, p, nil
		}
		list = append(list, a)
	}
}

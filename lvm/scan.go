package lvm

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
)

// PV is a physical volume found in an image.
type PV struct {
	Source    PVSource
	Partition int // the partition it fills (Linux's number); 0: the whole image
	Label     *Label
	// VG is what the PV's newest readable metadata says; nil when it keeps none or none of
	// its copies reads.
	VG *VG
	// Damage is the first damaged metadata copy's error (a PV's VG can still come from its
	// other copies, or from the other PVs of the VG).
	Damage error
}

// ScanImage finds the PVs of the image at path: one at its start, else one in each
// partition of its partition table that holds a label. An image with neither has none.
func ScanImage(path string) ([]*PV, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	sizeBytes := st.Size()
	pv, err := readPV(io.NewSectionReader(f, 0, sizeBytes), PVSource{Path: path}, 0)
	if err != nil {
		return nil, err
	}
	if pv != nil {
		return []*PV{pv}, nil
	}
	parts, err := Partitions(f, sizeBytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var pvs []*PV
	for _, part := range parts {
		r := io.NewSectionReader(f, int64(part.StartSectors)*512, int64(part.LenSectors)*512)
		pv, err := readPV(r, PVSource{Path: path, OffsetSectors: part.StartSectors}, part.Number)
		if err != nil {
			return nil, err
		}
		if pv != nil {
			pvs = append(pvs, pv)
		}
	}
	return pvs, nil
}

// readPV reads the PV at the start of r, or nil when r has no label. Of its metadata areas
// the newest readable copy wins; a damaged one is noted in Damage.
func readPV(r io.ReaderAt, src PVSource, partition int) (*PV, error) {
	where := src.Path
	if partition > 0 {
		where = fmt.Sprintf("%s partition %d", src.Path, partition)
	}
	label, err := ReadLabel(r)
	if errors.Is(err, ErrNoLabel) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	pv := &PV{Source: src, Partition: partition, Label: label}
	for _, a := range label.MetadataAreas {
		text, err := ReadMetadata(r, a)
		if errors.Is(err, ErrNoMetadata) {
			continue
		}
		var vg *VG
		if err == nil {
			if vg, err = ParseVG(text); err != nil {
				err = fmt.Errorf("metadata area at byte %d: %w", a.OffsetBytes, err)
			}
		}
		if err != nil {
			if pv.Damage == nil {
				pv.Damage = fmt.Errorf("%s: %w", where, err)
			}
			continue
		}
		if pv.VG == nil || vg.Seqno > pv.VG.Seqno {
			pv.VG = vg
		}
	}
	return pv, nil
}

// Assemble groups PVs into volume groups, each as its newest metadata (highest seqno) says,
// sorted by name, and sets the Source of each of their PVs found among pvs. A PV found twice
// is an error; PVs of a VG missing from pvs keep a nil Source.
func Assemble(pvs []*PV) ([]*VG, error) {
	byID := map[string]*PV{}
	for _, pv := range pvs {
		if old, ok := byID[pv.Label.UUID]; ok {
			return nil, fmt.Errorf("PV %s is in both %s and %s", pv.Label.UUID, describe(old), describe(pv))
		}
		byID[pv.Label.UUID] = pv
	}
	newest := map[string]*VG{}
	for _, pv := range pvs {
		if vg := pv.VG; vg != nil {
			if old, ok := newest[vg.ID]; !ok || vg.Seqno > old.Seqno {
				newest[vg.ID] = vg
			}
		}
	}
	var vgs []*VG
	for _, vg := range newest {
		for _, vpv := range vg.PVs {
			if pv, ok := byID[plainID(vpv.ID)]; ok {
				src := pv.Source
				vpv.Source = &src
			}
		}
		vgs = append(vgs, vg)
	}
	sort.Slice(vgs, func(i, j int) bool { return vgs[i].Name < vgs[j].Name })
	return vgs, nil
}

// describe names where a PV was found.
func describe(pv *PV) string {
	if pv.Partition > 0 {
		return fmt.Sprintf("%s partition %d", pv.Source.Path, pv.Partition)
	}
	return pv.Source.Path
}

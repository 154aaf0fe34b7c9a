package lvm

import (
	"fmt"
	"slices"
)

// Snapshot is an old-style (copy-on-write) snapshot as lvm2's text keeps it: an LV of its own
// (snapshotN, never shown to users) whose one "snapshot" segment names the origin LV and the
// COW LV. Users know the snapshot by the COW LV's name; lvm2 shows it when snapshotN is
// VISIBLE (a merging snapshot is not).
type Snapshot struct {
	LV           *LV // snapshotN
	Origin, COW  *LV
	ChunkSectors uint64
	// Merging: `lvconvert --merge` left the merge into the origin to its next activation
	// (the segment names the COW LV by merging_store, not cow_store).
	Merging bool
}

// Snapshot chunk sizes lvm2 creates: a power of 2 from 4 KiB to 512 KiB.
const (
	minSnapshotChunkSectors = 8
	maxSnapshotChunkSectors = 1024
)

// Snapshots returns the VG's old-style snapshots in the text's order, each checked as lvm2
// reads it (one segment, a chunk size it creates, an origin and a COW LV that exist, a COW LV
// of one snapshot only); lvm2 cannot read a VG whose text fails these checks.
func (vg *VG) Snapshots() ([]*Snapshot, error) {
	var snaps []*Snapshot
	byCOW := map[*LV]*Snapshot{}
	for _, lv := range vg.LVs {
		if !slices.ContainsFunc(lv.Segments, func(s *Segment) bool { return s.Type == "snapshot" }) {
			continue
		}
		s, err := vg.snapshotOf(lv)
		if err != nil {
			return nil, fmt.Errorf("snapshot LV %s/%s: %w", vg.Name, lv.Name, err)
		}
		if other := byCOW[s.COW]; other != nil {
			return nil, fmt.Errorf("snapshot LV %s/%s: COW LV %s is already the store of %s", vg.Name, lv.Name, s.COW.Name, other.LV.Name)
		}
		byCOW[s.COW] = s
		snaps = append(snaps, s)
	}
	return snaps, nil
}

// snapshotOf reads the snapshot segment of lv.
func (vg *VG) snapshotOf(lv *LV) (*Snapshot, error) {
	if len(lv.Segments) != 1 {
		return nil, fmt.Errorf("%d segments, a snapshot has one", len(lv.Segments))
	}
	sec := lv.Segments[0].Section
	s := &Snapshot{LV: lv}
	var err error
	if s.ChunkSectors, err = sec.Uint("chunk_size"); err != nil {
		return nil, err
	}
	if c := s.ChunkSectors; c < minSnapshotChunkSectors || c > maxSnapshotChunkSectors || c&(c-1) != 0 {
		return nil, fmt.Errorf("COW chunk size %d sectors: lvm2 makes a power of 2 from %d to %d", c, minSnapshotChunkSectors, maxSnapshotChunkSectors)
	}
	origin, err := sec.Str("origin")
	if err != nil {
		return nil, err
	}
	_, hasCOW := sec.Keys["cow_store"]
	_, s.Merging = sec.Keys["merging_store"]
	key := "cow_store"
	switch {
	case hasCOW && s.Merging:
		return nil, fmt.Errorf("both cow_store and merging_store")
	case s.Merging:
		key = "merging_store"
	}
	cow, err := sec.Str(key)
	if err != nil {
		return nil, err
	}
	if s.Origin = vg.LV(origin); s.Origin == nil {
		return nil, fmt.Errorf("no LV %s (its origin)", origin)
	}
	if s.COW = vg.LV(cow); s.COW == nil {
		return nil, fmt.Errorf("no LV %s (its COW store)", cow)
	}
	if s.Origin == s.COW || s.Origin == lv || s.COW == lv {
		return nil, fmt.Errorf("origin %s and COW store %s are not two other LVs", origin, cow)
	}
	return s, nil
}

// NamedLVs returns the LVs users name, in the text's order, as lvs lists them without
// brackets: the visible ones, except a snapshot's own LV (snapshotN), and the COW LVs of
// visible snapshots, which stand for them.
func (vg *VG) NamedLVs() ([]*LV, error) {
	snaps, err := vg.Snapshots()
	if err != nil {
		return nil, err
	}
	named := map[*LV]bool{}
	for _, lv := range vg.LVs {
		named[lv] = lv.Visible()
	}
	for _, s := range snaps {
		named[s.COW] = s.LV.Visible()
		named[s.LV] = false
	}
	var out []*LV
	for _, lv := range vg.LVs {
		if named[lv] {
			out = append(out, lv)
		}
	}
	return out, nil
}

// ExternalOrigin is the name of the LV a thin volume reads where its pool maps nothing (lvm2's
// external origin), or "".
func (lv *LV) ExternalOrigin() string {
	seg := lv.Segments[0]
	if v, ok := seg.Section.Keys["external_origin"]; ok && seg.Type == "thin" && v.Kind == KindString {
		return v.Str
	}
	return ""
}

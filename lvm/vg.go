package lvm

import (
	"fmt"
	"slices"
	"strings"
)

// VG is a volume group as its metadata text describes it.
type VG struct {
	Name          string
	ID            string // as written, with dashes
	Seqno         uint64
	ExtentSectors uint64
	PVs           []*VGPV // in the text's order
	LVs           []*LV   // in the text's order, hidden ones (pool_tmeta, ...) included
	// pvByName and lvByName index PVs and LVs by name (the first of a name), as ParseVG
	// read them.
	pvByName map[string]*VGPV
	lvByName map[string]*LV
}

// VGPV is one physical volume of a VG's text.
type VGPV struct {
	Name           string // the text's name for it: pv0, pv1, ...
	ID             string // as written, with dashes
	Device         string // the device it was on when the text was written (a hint only)
	PEStartSectors uint64
	PECount        uint64
	// Source is where its bytes are found, set by Assemble; nil: not among the images.
	Source *PVSource
}

// PVSource is where a PV's bytes are: a file and the PV's start in it.
type PVSource struct {
	Path          string
	OffsetSectors uint64
}

// LV is one logical volume of a VG's text.
type LV struct {
	Name     string
	ID       string // as written, with dashes
	Status   []string
	Flags    []string
	Segments []*Segment
}

// Segment is one segment of an LV: its extents and type, and the rest of its section for
// the type to read.
type Segment struct {
	StartExtent, ExtentCount uint64
	Type                     string
	Section                  *Section
}

// maxVGItems bounds the PVs, LVs and segments of a text (lvm2's own limits are far lower in
// practice; this keeps a hostile text from making huge plans).
const maxVGItems = 1 << 16

// maxSectors bounds the sizes and offsets a text may give (2^62 sectors), so that sums of
// them cannot overflow.
const maxSectors = 1 << 62

// ParseVG reads the VG that the metadata text describes (its one top-level section).
func ParseVG(text []byte) (*VG, error) {
	root, err := ParseConfig(text)
	if err != nil {
		return nil, err
	}
	if len(root.Children) != 1 {
		return nil, fmt.Errorf("LVM text: %d top-level sections, a VG's metadata has one", len(root.Children))
	}
	return vgOf(root.Children[0])
}

// vgOf reads a VG section.
func vgOf(s *Section) (*VG, error) {
	vg := &VG{Name: s.Name, pvByName: map[string]*VGPV{}, lvByName: map[string]*LV{}}
	var err error
	if vg.ID, err = s.Str("id"); err != nil {
		return nil, err
	}
	if vg.Seqno, err = s.Uint("seqno"); err != nil {
		return nil, err
	}
	if vg.ExtentSectors, err = s.Uint("extent_size"); err != nil {
		return nil, err
	}
	if vg.ExtentSectors == 0 || vg.ExtentSectors > maxSectors {
		return nil, fmt.Errorf("VG %s: extent_size %d", vg.Name, vg.ExtentSectors)
	}
	if pvs := s.Child("physical_volumes"); pvs != nil {
		if len(pvs.Children) > maxVGItems {
			return nil, fmt.Errorf("VG %s: %d PVs", vg.Name, len(pvs.Children))
		}
		for _, ps := range pvs.Children {
			pv, err := pvOf(ps)
			if err != nil {
				return nil, fmt.Errorf("VG %s: %w", vg.Name, err)
			}
			if pv.PEStartSectors > maxSectors || pv.PECount > maxSectors/vg.ExtentSectors {
				return nil, fmt.Errorf("VG %s: PV %s: pe_start %d and pe_count %d reach past 2^62 sectors", vg.Name, pv.Name, pv.PEStartSectors, pv.PECount)
			}
			vg.PVs = append(vg.PVs, pv)
			if vg.pvByName[pv.Name] == nil {
				vg.pvByName[pv.Name] = pv
			}
		}
	}
	if lvs := s.Child("logical_volumes"); lvs != nil {
		if len(lvs.Children) > maxVGItems {
			return nil, fmt.Errorf("VG %s: %d LVs", vg.Name, len(lvs.Children))
		}
		for _, ls := range lvs.Children {
			lv, err := lvOf(ls)
			if err != nil {
				return nil, fmt.Errorf("VG %s: %w", vg.Name, err)
			}
			if lv.Extents() > maxSectors/vg.ExtentSectors {
				return nil, fmt.Errorf("VG %s: LV %s: %d extents reach past 2^62 sectors", vg.Name, lv.Name, lv.Extents())
			}
			vg.LVs = append(vg.LVs, lv)
			if vg.lvByName[lv.Name] == nil {
				vg.lvByName[lv.Name] = lv
			}
		}
	}
	return vg, nil
}

// pvOf reads a PV section of physical_volumes.
func pvOf(s *Section) (*VGPV, error) {
	pv := &VGPV{Name: s.Name}
	var err error
	if pv.ID, err = s.Str("id"); err != nil {
		return nil, err
	}
	if v, ok := s.Keys["device"]; ok && v.Kind == KindString {
		pv.Device = v.Str
	}
	if pv.PEStartSectors, err = s.Uint("pe_start"); err != nil {
		return nil, err
	}
	if pv.PECount, err = s.Uint("pe_count"); err != nil {
		return nil, err
	}
	return pv, nil
}

// lvOf reads an LV section of logical_volumes.
func lvOf(s *Section) (*LV, error) {
	lv := &LV{Name: s.Name}
	var err error
	if lv.ID, err = s.Str("id"); err != nil {
		return nil, fmt.Errorf("LV %s: %w", s.Name, err)
	}
	if lv.Status, err = s.Strings("status"); err != nil {
		return nil, fmt.Errorf("LV %s: %w", s.Name, err)
	}
	if lv.Flags, err = s.Strings("flags"); err != nil {
		return nil, fmt.Errorf("LV %s: %w", s.Name, err)
	}
	count, err := s.Uint("segment_count")
	if err != nil {
		return nil, fmt.Errorf("LV %s: %w", s.Name, err)
	}
	if count == 0 || count > maxVGItems {
		return nil, fmt.Errorf("LV %s: segment_count %d", s.Name, count)
	}
	next := uint64(0)
	for i := uint64(1); i <= count; i++ {
		ss := s.Child(fmt.Sprintf("segment%d", i))
		if ss == nil {
			return nil, fmt.Errorf("LV %s: no segment%d of %d", s.Name, i, count)
		}
		seg := &Segment{Section: ss}
		if seg.StartExtent, err = ss.Uint("start_extent"); err != nil {
			return nil, fmt.Errorf("LV %s: %w", s.Name, err)
		}
		if seg.ExtentCount, err = ss.Uint("extent_count"); err != nil {
			return nil, fmt.Errorf("LV %s: %w", s.Name, err)
		}
		if seg.Type, err = ss.Str("type"); err != nil {
			return nil, fmt.Errorf("LV %s: %w", s.Name, err)
		}
		if seg.StartExtent != next || seg.ExtentCount == 0 || seg.ExtentCount > 1<<40 {
			return nil, fmt.Errorf("LV %s: segment%d covers extents %d+%d, the LV is at extent %d", s.Name, i, seg.StartExtent, seg.ExtentCount, next)
		}
		next += seg.ExtentCount
		lv.Segments = append(lv.Segments, seg)
	}
	return lv, nil
}

// Extents is the LV's length in extents.
func (lv *LV) Extents() uint64 {
	last := lv.Segments[len(lv.Segments)-1]
	return last.StartExtent + last.ExtentCount
}

// Visible reports whether the LV is one a user names (not a pool's _tmeta, _tdata, pmspare).
func (lv *LV) Visible() bool { return slices.Contains(lv.Status, "VISIBLE") }

// Writable reports whether the LV's permission lets it be written.
func (lv *LV) Writable() bool { return slices.Contains(lv.Status, "WRITE") }

// SkipsActivation reports whether the LV is activated only when asked to ignore the skip
// flag (lvm's -K), as thin snapshots are by default.
func (lv *LV) SkipsActivation() bool { return slices.Contains(lv.Flags, "ACTIVATION_SKIP") }

// LV returns the LV called name, or nil.
func (vg *VG) LV(name string) *LV { return vg.lvByName[name] }

// PV returns the PV the text calls name, or nil.
func (vg *VG) PV(name string) *VGPV { return vg.pvByName[name] }

// plainID is an LVM id without its dashes, as labels and dm UUIDs hold it.
func plainID(id string) string { return strings.ReplaceAll(id, "-", "") }

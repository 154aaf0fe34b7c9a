package lvm

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gdmsetup/gdmsetup/table"
)

// MissingPVError is the refusal of an area on a PV of the VG that is not among the images.
type MissingPVError struct {
	PV *VGPV
}

func (e *MissingPVError) Error() string {
	return fmt.Sprintf("PV %s (id %s, last seen as %s) is not among the images", e.PV.Name, e.PV.ID, e.PV.Device)
}

// ActivationMode is lvm2's activation mode: what becomes of an LV with areas on PVs missing
// from the images.
type ActivationMode int

const (
	// Degraded (lvm2's default) activates a raid LV that keeps enough members, the areas of
	// its members on missing PVs mapped to error devices; other LVs on missing PVs are
	// refused.
	Degraded ActivationMode = iota
	// Complete refuses every LV with an area on a missing PV.
	Complete
	// Partial activates them all, every area on a missing PV mapped to an error device.
	Partial
)

// PartialError is what a Plan returns beside the devices of the other LVs when LVs it was
// asked for stand on PVs missing from the images and the mode refuses them: lvm2 refuses
// such LVs and activates the rest.
type PartialError struct {
	VG string
	// Refused holds one error per LV left out, naming the LV and the missing PV.
	Refused []error
}

func (e *PartialError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "VG %s: %d LV(s) on missing PVs not activated", e.VG, len(e.Refused))
	for _, r := range e.Refused {
		b.WriteString("\n  ")
		b.WriteString(r.Error())
	}
	return b.String()
}

// MissingPVs returns the VG's PVs that are not among the images.
func (vg *VG) MissingPVs() []*VGPV {
	var out []*VGPV
	for _, pv := range vg.PVs {
		if pv.Source == nil {
			out = append(out, pv)
		}
	}
	return out
}

// planOrRefuse plans lv; an LV that stands on a missing PV is left out with nothing of it
// planned, its refusal kept for the PartialError. Other errors end the Plan.
// A snapshot whose origin was refused is left out without a word, as lvm2 refuses the
// origin alone (its vgchange activates origins, their snapshots with them).
func (p *planner) planOrRefuse(lv *LV) error {
	top := lv
	if s := p.layers.byCOW[lv]; s != nil {
		top = s.Origin
	}
	if p.refusedLVs[top] {
		return nil
	}
	mark := len(p.out)
	why := ""
	if p.o.Mode != Complete && p.partialRaidWithIntegrity(lv) {
		p.o.Mode = Complete
		why = "no degraded or partial activation for raid with integrity (none for the LVs after it either, as lvm2): "
	}
	if p.o.Mode == Partial && p.partialWritecache(lv) {
		p.refused = append(p.refused, fmt.Errorf("not activating writecache LV %s/%s: it has an area on a missing PV, and lvm2 has no partial or degraded activation for writecache", p.vg.Name, lv.Name))
		return nil
	}
	p.fillMissing = p.o.Mode == Partial || p.o.Mode == Degraded && p.redundantRaid(lv)
	err := p.activate(lv)
	var missing *MissingPVError
	if err == nil || !errors.As(err, &missing) {
		return err
	}
	for _, d := range p.out[mark:] {
		delete(p.done, d.Name)
	}
	p.out = p.out[:mark]
	p.refusedLVs[top] = true
	p.refused = append(p.refused, fmt.Errorf("refusing activation of partial LV %s/%s: %s%w", p.vg.Name, lv.Name, why, err))
	return nil
}

// missingArea plans the error device that lvm2's degraded or partial activation puts in
// place of area of segment seg (both counted from 0) of lv, the segment's length, as
// VG-LV-missing_S_A with the LV's UUID and that suffix, and returns its name; the area maps
// its sector 0.
func (p *planner) missingArea(lv *LV, seg, area int, lenSectors uint64) string {
	layer := fmt.Sprintf("missing_%d_%d", seg, area)
	name := DMName(p.vg.Name, lv.Name, layer)
	p.add(name, p.dmUUID(lv, layer), false, []table.Line{line(0, lenSectors, "error")})
	return name
}

// redundantRaid reports whether lv is a raid LV that lvm2 activates in degraded mode with its
// members on missing PVs (partial_raid_lv_supports_degraded_activation): raid10 with a
// member of each pair of neighbours left, other raid levels with a member left and no more
// members gone than their parity devices (none for raid0 and raid1) cover. A member is gone
// when its image or metadata LV has an area on a missing PV or is an error LV.
func (p *planner) redundantRaid(lv *LV) bool {
	if len(lv.Segments) != 1 || raidTargets[lv.Segments[0].Type] == "" {
		return false
	}
	seg := lv.Segments[0]
	areas, err := raidAreas(seg)
	if err != nil {
		return false
	}
	gone := make([]bool, len(areas))
	failed := 0
	for i, a := range areas {
		gone[i] = p.degradedLV(a.image) || a.meta != "" && p.degradedLV(a.meta)
		if gone[i] {
			failed++
		}
	}
	target := raidTargets[seg.Type]
	switch {
	case target == "raid10":
		const copies = 2 // lvm2 checks 2-way mirror groups only
		inGroup := 0
		for i := 0; i < len(areas)*copies; i++ {
			if i%copies == 0 {
				inGroup = 0
			}
			if gone[i%len(areas)] {
				inGroup++
			}
			if inGroup >= copies {
				return false
			}
		}
		return true
	case failed == len(areas):
		return false
	case strings.HasPrefix(target, "raid6"):
		return failed <= 2
	case target == "raid4" || strings.HasPrefix(target, "raid5"):
		return failed <= 1
	}
	return true
}

// degradedLV reports whether the LV called name has an area on a PV missing from the images
// or an error segment (lvm2's _sublv_is_degraded: partial or virtual), itself or, for a raid
// image with integrity, its origin or metadata LV.
func (p *planner) degradedLV(name string) bool {
	lv := p.vg.LV(name)
	if lv == nil {
		return false
	}
	if p.lvOnMissingPV(lv) {
		return true
	}
	for _, layer := range integrityLayers(lv) {
		if l := p.vg.LV(layer); l != nil && p.lvOnMissingPV(l) {
			return true
		}
	}
	return false
}

// lvOnMissingPV reports whether lv has an error segment or a stripe on a PV missing from the
// images.
func (p *planner) lvOnMissingPV(lv *LV) bool {
	for _, seg := range lv.Segments {
		if seg.Type == "error" {
			return true
		}
		v := seg.Section.Keys["stripes"]
		for i := 0; i+1 < len(v.List); i += 2 {
			if pv := p.vg.PV(v.List[i].Str); pv != nil && pv.Source == nil {
				return true
			}
		}
	}
	return false
}

// partialWritecache reports whether lv is a writecache LV whose origin or cachevol has an area
// on a PV missing from the images: lvm2 activates no such LV, not even in partial mode
// ("Cannot use partial or degraded activation with writecache").
func (p *planner) partialWritecache(lv *LV) bool {
	seg := lv.Segments[0]
	if seg.Type != "writecache" {
		return false
	}
	for _, key := range []string{"writecache", "origin"} {
		if p.degradedLV(seg.Section.Keys[key].Str) {
			return true
		}
	}
	return false
}

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

// PartialError is what a Plan returns beside the devices of the other LVs when LVs it was
// asked for stand on PVs missing from the images (without Partial; with it, raid and mirror
// LVs with a member on one): lvm2's default (degraded) activation refuses such LVs and
// activates the rest.
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
func (p *planner) planOrRefuse(lv *LV) error {
	mark := len(p.out)
	err := p.activate(lv)
	var missing *MissingPVError
	if err == nil || !errors.As(err, &missing) {
		return err
	}
	for _, d := range p.out[mark:] {
		delete(p.done, d.Name)
	}
	p.out = p.out[:mark]
	p.refused = append(p.refused, fmt.Errorf("refusing activation of partial LV %s/%s: %w", p.vg.Name, lv.Name, err))
	return nil
}

// missingArea plans the error device that lvm2's partial activation puts in place of area
// of segment seg (both counted from 0) of lv, the segment's length, as VG-LV-missing_S_A
// with the LV's UUID and that suffix, and returns its name; the area maps its sector 0.
func (p *planner) missingArea(lv *LV, seg, area int, lenSectors uint64) string {
	layer := fmt.Sprintf("missing_%d_%d", seg, area)
	name := DMName(p.vg.Name, lv.Name, layer)
	p.add(name, p.dmUUID(lv, layer), false, []table.Line{line(0, lenSectors, "error")})
	return name
}

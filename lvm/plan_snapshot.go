package lvm

import (
	"fmt"
	"strconv"

	"github.com/gdmsetup/gdmsetup/table"
)

// snapshotLayers indexes what makes lvm2 activate an LV in layers: the old-style snapshots
// by their own LV (snapshotN), their COW LV and their origin, the external origins of thin
// volumes, and the LVs users name.
type snapshotLayers struct {
	byLV     map[*LV]*Snapshot
	byCOW    map[*LV]*Snapshot
	byOrigin map[*LV][]*Snapshot // in the text's order, lvm2's snapshot_segs
	external map[*LV]bool
	named    map[*LV]bool
}

// indexLayers reads the VG's snapshots, external origins and named LVs for a Plan.
func (p *planner) indexLayers() error {
	snaps, err := p.vg.Snapshots()
	if err != nil {
		return err
	}
	named, err := p.vg.NamedLVs()
	if err != nil {
		return err
	}
	l := &snapshotLayers{byLV: map[*LV]*Snapshot{}, byCOW: map[*LV]*Snapshot{}, byOrigin: map[*LV][]*Snapshot{}, external: map[*LV]bool{}, named: map[*LV]bool{}}
	for _, s := range snaps {
		l.byLV[s.LV] = s
		l.byCOW[s.COW] = s
		l.byOrigin[s.Origin] = append(l.byOrigin[s.Origin], s)
	}
	for _, lv := range named {
		l.named[lv] = true
	}
	for _, lv := range p.vg.LVs {
		if e := p.vg.LV(lv.ExternalOrigin()); e != nil {
			l.external[e] = true
		}
	}
	p.layers = l
	return nil
}

// hiddenSnapshotLV explains why a snapshot's own LV (snapshotN) or the COW LV of a merging
// snapshot cannot be named, or is nil for other LVs.
func (p *planner) hiddenSnapshotLV(lv *LV) error {
	if s := p.layers.byCOW[lv]; s != nil && s.Merging {
		return fmt.Errorf("LV %s/%s is a snapshot merging into %s: it is activated with its origin", p.vg.Name, lv.Name, s.Origin.Name)
	}
	if s := p.layers.byLV[lv]; s != nil {
		return fmt.Errorf("LV %s/%s is lvm2's own LV of snapshot %s: name the snapshot", p.vg.Name, lv.Name, s.COW.Name)
	}
	return nil
}

// layered plans lv if lvm2 activates it in layers, and reports whether it did: a snapshot
// (its origin with all the origin's snapshots, as lvm2 activates either), an origin of
// snapshots, an external origin of thin volumes.
func (p *planner) layered(lv *LV) (bool, error) {
	if s := p.layers.byCOW[lv]; s != nil {
		lv = s.Origin
	}
	switch {
	case len(p.layers.byOrigin[lv]) > 0:
		return true, p.origin(lv)
	case p.layers.external[lv]:
		real, err := p.externalOrigin(lv)
		if err != nil {
			return true, err
		}
		p.add(DMName(p.vg.Name, lv.Name, ""), p.dmUUID(lv, ""), !lv.Writable(), []table.Line{
			line(0, p.lenSectors(lv), "linear", "/dev/mapper/"+real, "0")})
		return true, nil
	}
	return false, nil
}

// origin plans an origin and its snapshots as lvm2 does: VG-LV-real holds the origin's
// segments; VG-LV maps it by snapshot-origin, or by snapshot-merge over the -real and the
// merging snapshot's VG-COW-cow when a merge is pending; then for each snapshot its COW
// LV's segments as VG-COW-cow (writable whatever the LV's permission, as lvm2 keeps it) and
// VG-COW, the snapshot target over the -real and the -cow (an error target for the merging
// one: it reads through its origin).
func (p *planner) origin(o *LV) error {
	where := fmt.Sprintf("origin %s/%s", p.vg.Name, o.Name)
	real := DMName(p.vg.Name, o.Name, "real")
	if p.done[real] {
		return nil
	}
	if err := p.plainLayer(o, "origin of snapshots"); err != nil {
		return err
	}
	if p.layers.external[o] {
		return fmt.Errorf("%s: both an origin of old-style snapshots and an external origin of thin volumes: not supported", where)
	}
	lines, err := p.plainLines(o)
	if err != nil {
		return err
	}
	snaps := p.layers.byOrigin[o]
	var merging *Snapshot
	for _, s := range snaps {
		if err := p.plainLayer(s.COW, "COW store"); err != nil {
			return err
		}
		if !s.Merging {
			continue
		}
		if merging != nil {
			return fmt.Errorf("%s: snapshots %s and %s are both to be merged into it", where, merging.COW.Name, s.COW.Name)
		}
		merging = s
	}
	if merging != nil && p.o.ReadOnly {
		return fmt.Errorf("%s: snapshot %s is to be merged into it, which writes the images: not under a read-only activation", where, merging.COW.Name)
	}
	p.add(real, p.dmUUID(o, "real"), !o.Writable(), lines)
	top := line(0, p.lenSectors(o), "snapshot-origin", "/dev/mapper/"+real)
	if merging != nil {
		cow, err := p.cowLayer(merging)
		if err != nil {
			return err
		}
		top = line(0, p.lenSectors(o), "snapshot-merge", "/dev/mapper/"+real, "/dev/mapper/"+cow, "P", strconv.FormatUint(merging.ChunkSectors, 10))
	}
	p.add(DMName(p.vg.Name, o.Name, ""), p.dmUUID(o, ""), !o.Writable(), []table.Line{top})
	for _, s := range snaps {
		cow, err := p.cowLayer(s)
		if err != nil {
			return err
		}
		snap := line(0, p.lenSectors(s.LV), "snapshot", "/dev/mapper/"+real, "/dev/mapper/"+cow, "P", strconv.FormatUint(s.ChunkSectors, 10))
		if s.Merging {
			snap = line(0, p.lenSectors(s.LV), "error")
		}
		p.add(DMName(p.vg.Name, s.COW.Name, ""), p.dmUUID(s.COW, ""), !s.COW.Writable(), []table.Line{snap})
	}
	return nil
}

// cowLayer plans the -cow layer of snapshot s and returns its name.
func (p *planner) cowLayer(s *Snapshot) (string, error) {
	name := DMName(p.vg.Name, s.COW.Name, "cow")
	lines, err := p.plainLines(s.COW)
	if err != nil {
		return "", err
	}
	p.add(name, p.dmUUID(s.COW, "cow"), false, lines)
	return name, nil
}

// externalOrigin plans the -real layer lvm2 puts an external origin of thin volumes in (its
// segments, read-only as the LV is) and returns its name.
func (p *planner) externalOrigin(e *LV) (string, error) {
	if err := p.plainLayer(e, "external origin"); err != nil {
		return "", err
	}
	if len(p.layers.byOrigin[e]) > 0 {
		return "", fmt.Errorf("external origin %s/%s: also an origin of old-style snapshots: not supported", p.vg.Name, e.Name)
	}
	lines, err := p.plainLines(e)
	if err != nil {
		return "", err
	}
	name := DMName(p.vg.Name, e.Name, "real")
	p.add(name, p.dmUUID(e, "real"), !e.Writable(), lines)
	return name, nil
}

// plainLayer refuses, as the role of lv, an LV that is not mapped by its own segments: a
// thin volume or pool, a snapshot's own LV or its COW store.
func (p *planner) plainLayer(lv *LV, role string) error {
	for _, seg := range lv.Segments {
		switch seg.Type {
		case "thin", "thin-pool", "snapshot":
			return fmt.Errorf("LV %s/%s (%s): a %s LV in this role is not supported", p.vg.Name, lv.Name, role, seg.Type)
		}
	}
	if s := p.layers.byCOW[lv]; s != nil && role != "COW store" {
		return fmt.Errorf("LV %s/%s (%s) is the COW store of snapshot LV %s: not supported", p.vg.Name, lv.Name, role, s.LV.Name)
	}
	return nil
}

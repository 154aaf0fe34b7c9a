package lvm

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gdmsetup/gdmsetup/table"
)

// raidTargets maps lvm2's raid segment types to the kernel raid type libdm loads for them
// (raid5 is raid5_ls, raid6 raid6_zr, raid10_near raid10; raid0_meta is raid0 with metadata
// devices).
var raidTargets = map[string]string{
	"raid0": "raid0", "raid0_meta": "raid0", "raid1": "raid1", "raid10": "raid10", "raid10_near": "raid10",
	"raid4": "raid4", "raid5": "raid5_ls", "raid5_n": "raid5_n", "raid5_la": "raid5_la", "raid5_ra": "raid5_ra",
	"raid5_ls": "raid5_ls", "raid5_rs": "raid5_rs", "raid6": "raid6_zr", "raid6_zr": "raid6_zr",
	"raid6_nr": "raid6_nr", "raid6_nc": "raid6_nc", "raid6_n_6": "raid6_n_6", "raid6_ls_6": "raid6_ls_6",
	"raid6_rs_6": "raid6_rs_6", "raid6_la_6": "raid6_la_6", "raid6_ra_6": "raid6_ra_6",
}

// raidArea is one member of a raid segment: its metadata LV ("" for none) and its image LV.
type raidArea struct{ meta, image string }

// raid plans the sub-LVs of a raid segment of lv (each member's _rmeta_N, then its _rimage_N,
// as lvm2 creates them) and returns the segment's raid line as lvm2 2.03 loads it (libdm's
// order for dm-raid 1.11 and later): the chunk size, then rebuild N for members whose image
// is flagged REBUILD, the recovery rates, write_mostly N and max_write_behind (raid1),
// region_size (all but raid0), raid10_copies (raid10), data_offset, and the members ("- -"
// for an image split off with --trackchanges: visible and read-only).
func (p *planner) raid(lv *LV, seg *Segment, startSectors, lenSectors uint64) (table.Line, error) {
	s := seg.Section
	target := raidTargets[seg.Type]
	if len(lv.Segments) != 1 {
		return table.Line{}, fmt.Errorf("%d segments, a raid LV has one", len(lv.Segments))
	}
	if n, err := s.UintOr("reshape_count", 0); err != nil || n != 0 {
		return table.Line{}, fmt.Errorf("reshape space (reshape_count) is not supported")
	}
	areas, err := raidAreas(seg)
	if err != nil {
		return table.Line{}, err
	}
	for i, a := range areas {
		if p.vg.LV(a.image) == nil {
			return table.Line{}, fmt.Errorf("member %d: no LV %s", i, a.image)
		}
	}
	chunk, err := s.UintOr("stripe_size", 0)
	if err != nil {
		return table.Line{}, err
	}
	var params []string
	if target != "raid0" {
		if params, err = p.raidParams(seg, target, areas); err != nil {
			return table.Line{}, err
		}
	}
	args := append([]string{target, strconv.Itoa(len(params) + 1), strconv.FormatUint(chunk, 10)}, params...)
	args = append(args, strconv.Itoa(len(areas)))
	for i, a := range areas {
		image := p.vg.LV(a.image)
		if image.Visible() && !image.Writable() {
			args = append(args, "-", "-")
			continue
		}
		for _, name := range []string{a.meta, a.image} {
			if name == "" {
				args = append(args, "-")
				continue
			}
			dev, err := p.layer(name, "")
			if err != nil {
				return table.Line{}, fmt.Errorf("member %d: %w", i, err)
			}
			args = append(args, "/dev/mapper/"+dev)
		}
	}
	return line(startSectors, lenSectors, "raid", args...), nil
}

// raidAreas reads a raid segment's members: the raid0_lvs list (raid0) or the raids list,
// an _rmeta_ LV before its image as lvm2 reads them, as many as device_count or stripe_count
// say; each an LV of the VG.
func raidAreas(seg *Segment) ([]raidArea, error) {
	s := seg.Section
	key := "raids"
	if seg.Type == "raid0" {
		key = "raid0_lvs"
	}
	names, err := s.Strings(key)
	if err != nil {
		return nil, err
	}
	_, devices := s.Keys["device_count"]
	_, stripes := s.Keys["stripe_count"]
	if devices == stripes {
		return nil, fmt.Errorf("one of device_count and stripe_count is needed")
	}
	countKey := "device_count"
	if stripes {
		countKey = "stripe_count"
	}
	count, err := s.Uint(countKey)
	if err != nil {
		return nil, err
	}
	var areas []raidArea
	for i := 0; i < len(names); i++ {
		var a raidArea
		if strings.Contains(names[i], "_rmeta_") {
			a.meta = names[i]
			if i++; i == len(names) {
				return nil, fmt.Errorf("%s: metadata LV %s has no image after it", key, a.meta)
			}
		}
		a.image = names[i]
		areas = append(areas, a)
	}
	if count == 0 || uint64(len(areas)) != count {
		return nil, fmt.Errorf("%s %d, the %s list holds %d members", countKey, count, key, len(areas))
	}
	return areas, nil
}

// raidParams are the optional raid parameters of a raid segment other than raid0, in the
// order libdm writes them.
func (p *planner) raidParams(seg *Segment, target string, areas []raidArea) ([]string, error) {
	s := seg.Section
	var rebuild, mostly []string
	for i, a := range areas {
		image := p.vg.LV(a.image)
		if slices.Contains(image.Status, "REBUILD") {
			rebuild = append(rebuild, "rebuild", strconv.Itoa(i))
		}
		if slices.Contains(image.Status, "WRITEMOSTLY") && target == "raid1" {
			mostly = append(mostly, "write_mostly", strconv.Itoa(i))
		}
	}
	region, err := s.UintOr("region_size", 0)
	if err != nil {
		return nil, err
	}
	if region == 0 {
		return nil, fmt.Errorf("no region_size")
	}
	params := rebuild
	for _, k := range []struct{ key, param string }{{"min_recovery_rate", "min_recovery_rate"}, {"max_recovery_rate", "max_recovery_rate"}} {
		if v, err := s.UintOr(k.key, 0); err != nil {
			return nil, err
		} else if v != 0 {
			params = append(params, k.param, strconv.FormatUint(v, 10))
		}
	}
	params = append(params, mostly...)
	if target == "raid1" {
		if v, err := s.UintOr("writebehind", 0); err != nil {
			return nil, err
		} else if v != 0 {
			params = append(params, "max_write_behind", strconv.FormatUint(v, 10))
		}
	}
	params = append(params, "region_size", strconv.FormatUint(region, 10))
	if target == "raid10" {
		copies, err := s.UintOr("data_copies", 0)
		if err != nil {
			return nil, err
		}
		if copies < 2 {
			copies = 2
		}
		params = append(params, "raid10_copies", strconv.FormatUint(copies, 10))
	}
	if _, ok := s.Keys["data_offset"]; ok {
		off, err := s.Uint("data_offset")
		if err != nil {
			return nil, err
		}
		params = append(params, "data_offset", strconv.FormatUint(off, 10))
	}
	return params, nil
}

// mirror plans the sub-LVs of a mirror segment of lv (its disk log, then its images) and
// returns the segment's mirror line as lvm2 2.03's vgchange and lvchange load it: `core 1
// REGION` or `disk 2 LOG REGION`, the legs with their offsets, and the feature
// handle_errors (lvm2 leaves it out only under --ignoremonitoring or --monitor n: with it, a
// leg's failed write waits for dmeventd to reload the mirror without the leg, or for a
// suspend).
func (p *planner) mirror(lv *LV, seg *Segment, startSectors, lenSectors uint64) (table.Line, error) {
	s := seg.Section
	if slices.Contains(lv.Status, "PVMOVE") {
		return table.Line{}, fmt.Errorf("a pvmove in progress is not supported")
	}
	region, err := s.UintOr("region_size", 0)
	if err != nil {
		return table.Line{}, err
	}
	if region == 0 {
		return table.Line{}, fmt.Errorf("no region_size")
	}
	count, err := s.Uint("mirror_count")
	if err != nil {
		return table.Line{}, err
	}
	legs := s.Keys["mirrors"]
	if count < 2 || legs.Kind != KindList || count > maxVGItems || uint64(len(legs.List)) != 2*count {
		return table.Line{}, fmt.Errorf("mirror_count %d does not match the mirrors list (a mirror has 2 legs or more)", count)
	}
	args := []string{"core", "1", strconv.FormatUint(region, 10)}
	if _, ok := s.Keys["mirror_log"]; ok {
		name, err := s.Str("mirror_log")
		if err != nil {
			return table.Line{}, err
		}
		dev, err := p.layer(name, "")
		if err != nil {
			return table.Line{}, fmt.Errorf("log: %w", err)
		}
		args = []string{"disk", "2", "/dev/mapper/" + dev, args[2]}
	}
	args = append(args, strconv.FormatUint(count, 10))
	for i := 0; i < len(legs.List); i += 2 {
		name, le := legs.List[i], legs.List[i+1]
		if name.Kind != KindString || le.Kind != KindInt || le.Int < 0 {
			return table.Line{}, fmt.Errorf("leg %d is not a name and an extent", i/2)
		}
		dev, off, err := p.area(name.Str, uint64(le.Int), seg.ExtentCount)
		if err != nil {
			return table.Line{}, fmt.Errorf("leg %d: %w", i/2, err)
		}
		args = append(args, dev, strconv.FormatUint(off, 10))
	}
	args = append(args, "1", "handle_errors")
	return line(startSectors, lenSectors, "mirror", args...), nil
}

// area is the device and sector offset of extents [e, e+n) of the PV or LV the text calls
// name; an LV is planned first.
func (p *planner) area(name string, e, n uint64) (string, uint64, error) {
	lv := p.vg.LV(name)
	if lv == nil {
		return p.pvArea(name, e, n)
	}
	if e+n > lv.Extents() || e+n < e {
		return "", 0, fmt.Errorf("extents %d+%d are past the end of LV %s (%d extents)", e, n, name, lv.Extents())
	}
	dev, err := p.layer(name, "")
	if err != nil {
		return "", 0, err
	}
	return "/dev/mapper/" + dev, e * p.vg.ExtentSectors, nil
}

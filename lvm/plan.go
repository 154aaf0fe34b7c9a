package lvm

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gdmsetup/gdmsetup/table"
)

// PlanOptions choose what an activation makes.
type PlanOptions struct {
	// LVs names the LVs to activate; none: every visible LV of the VG (as vgchange -ay).
	LVs []string
	// IgnoreSkip activates LVs flagged to be skipped (thin snapshots), as lvm's -K.
	IgnoreSkip bool
	// ReadOnly makes every device read-only and thin pools read_only.
	ReadOnly bool
	// Mode says what becomes of LVs on PVs missing from the images (missing.go).
	Mode ActivationMode
}

// Device is one device of a Plan: what `dmsetup create --concise` takes, the LV (VG/LV) whose
// activation plans it (lvm2 activates LV after LV: one that fails leaves the others), and for
// a thin pool the transaction id the VG's metadata expects its pool metadata to hold.
type Device struct {
	table.ConciseDevice
	LV          string
	Transaction *uint64
}

// Plan returns the devices that lvm2 2.03 creates to activate the VG's LVs, in the order it
// creates them: the names (VG-LV with each '-' of either doubled, and -tpool for a pool
// under thin volumes), the UUIDs ("LVM-" + VG id + LV id, without dashes, and the layer's
// suffix), the tables and read-only flags, with PVs referred to by their image (PV.Source)
// and devices by /dev/mapper/NAME. A pool's low water mark is 0, what lvm2 loads under its
// default thin_pool_autoextend_threshold of 100. It refuses an LV it cannot map (a segment
// type other than striped, zero, error, thin-pool, thin, mirror, raid, cache, cache-pool and
// writecache; a PV missing from the images)
// before returning anything; raid and mirror LVs come after their sub-LVs (plan_raid.go),
// cache and writecache LVs after their cache pools' or cachevols' layers and their origins
// (plan_cache.go).
// An LV on a PV missing from the images is left out and the others planned, with a
// *PartialError naming it, or mapped over error devices as Mode allows (missing.go).
// Old-style snapshots, their origins and the external origins of thin volumes come in
// lvm2's -real and -cow layers, a snapshot or its origin with all the origin's snapshots
// (plan_snapshot.go).
func (vg *VG) Plan(o PlanOptions) ([]Device, error) {
	p := &planner{vg: vg, o: o, done: map[string]bool{}, stack: map[string]bool{}, usedPools: map[string]bool{}, refusedLVs: map[*LV]bool{}}
	for _, lv := range vg.LVs {
		if seg := lv.Segments[0]; seg.Type == "thin" {
			p.usedPools[seg.Section.Keys["thin_pool"].Str] = true
		}
	}
	if err := p.indexLayers(); err != nil {
		return nil, err
	}
	want := o.LVs
	if len(want) == 0 {
		for _, lv := range vg.LVs {
			if p.layers.named[lv] && (!lv.SkipsActivation() || o.IgnoreSkip) {
				want = append(want, lv.Name)
			}
		}
	}
	wanted := map[string]bool{}
	for _, name := range want {
		if vg.LV(name) == nil {
			return nil, fmt.Errorf("VG %s has no LV %s", vg.Name, name)
		}
		wanted[name] = true
	}
	for _, lv := range vg.LVs {
		if !wanted[lv.Name] {
			continue
		}
		if err := p.hiddenSnapshotLV(lv); err != nil {
			return nil, err
		}
		switch {
		case !p.layers.named[lv]:
			return nil, fmt.Errorf("LV %s/%s is a hidden part of another LV: it is activated with it", vg.Name, lv.Name)
		case lv.SkipsActivation() && !o.IgnoreSkip:
			return nil, fmt.Errorf("LV %s/%s is flagged to be skipped by activation (a thin snapshot): ignore the flag to activate it", vg.Name, lv.Name)
		}
		mark := len(p.out)
		if err := p.planOrRefuse(lv); err != nil {
			return nil, err
		}
		for i := range p.out[mark:] {
			p.out[mark+i].LV = vg.Name + "/" + lv.Name
		}
	}
	if len(p.refused) > 0 {
		return p.out, &PartialError{VG: vg.Name, Refused: p.refused}
	}
	return p.out, nil
}

// planner collects the devices of one Plan; done holds the names already planned, stack
// the sub-LVs being planned (a text whose LVs stand on each other in a circle is refused),
// refused the LVs left out for a missing PV (refusedLVs: those LVs, an origin for its
// snapshots), fillMissing whether an area on a missing PV
// maps an error device in what is being planned, usedPools the names of the pools thin
// volumes name.
type planner struct {
	vg          *VG
	o           PlanOptions
	done        map[string]bool
	stack       map[string]bool
	out         []Device
	refused     []error
	refusedLVs  map[*LV]bool
	fillMissing bool
	usedPools   map[string]bool
	// layers: the snapshots and external origins (plan_snapshot.go)
	layers *snapshotLayers
}

// DMName is the dm name lvm2 gives layer (empty: none) of LV lv in VG vg.
func DMName(vg, lv, layer string) string {
	name := strings.ReplaceAll(vg, "-", "--") + "-" + strings.ReplaceAll(lv, "-", "--")
	if layer != "" {
		name += "-" + layer
	}
	return name
}

// dmUUID is the dm UUID lvm2 gives layer of lv.
func (p *planner) dmUUID(lv *LV, layer string) string {
	u := "LVM-" + plainID(p.vg.ID) + plainID(lv.ID)
	if layer != "" {
		u += "-" + layer
	}
	return u
}

// add plans a device unless one of its name is planned already, and returns it.
func (p *planner) add(name, uuid string, readOnly bool, lines []table.Line) *Device {
	if p.done[name] {
		return nil
	}
	p.done[name] = true
	flags := "rw"
	if readOnly || p.o.ReadOnly {
		flags = "ro"
	}
	p.out = append(p.out, Device{ConciseDevice: table.ConciseDevice{Name: name, UUID: uuid, Flags: flags, Table: lines}})
	return &p.out[len(p.out)-1]
}

// layer plans, once, the hidden LV called name that another LV stands on, as its own device
// with the UUID suffix lvm2 gives its role (cdata, cmeta, cvol, real; none for raid, mirror
// and integrity sub-LVs), and returns the device's name; a raid image with integrity comes
// after its own layers (memberLines).
func (p *planner) layer(name, suffix string) (string, error) {
	lv := p.vg.LV(name)
	if lv == nil {
		return "", fmt.Errorf("no LV %s", name)
	}
	dev := DMName(p.vg.Name, lv.Name, "")
	if p.done[dev] {
		return dev, nil
	}
	if p.stack[lv.Name] {
		return "", fmt.Errorf("LV %s stands on itself", lv.Name)
	}
	p.stack[lv.Name] = true
	defer delete(p.stack, lv.Name)
	lines, err := p.memberLines(lv)
	if err != nil {
		return "", err
	}
	p.add(dev, p.dmUUID(lv, suffix), !lv.Writable(), lines)
	return dev, nil
}

// activate plans lv and what it stands on.
func (p *planner) activate(lv *LV) error {
	if ok, err := p.layered(lv); ok {
		return err
	}
	switch lv.Segments[0].Type {
	case "thin-pool":
		tpool, used, err := p.pool(lv)
		if err != nil || !used {
			return err
		}
		p.add(DMName(p.vg.Name, lv.Name, ""), p.dmUUID(lv, "pool"), true, []table.Line{
			line(0, p.lenSectors(lv), "linear", "/dev/mapper/"+tpool, "0")})
		return nil
	case "thin":
		return p.thin(lv)
	case "cache-pool", "cache-pool+METADATA_FORMAT":
		return nil // lvm2 skips cache pools: their cache LVs activate them
	}
	lines, err := p.plainLines(lv)
	if err != nil {
		return err
	}
	p.add(DMName(p.vg.Name, lv.Name, ""), p.dmUUID(lv, ""), !lv.Writable(), lines)
	return nil
}

// lenSectors is lv's length.
func (p *planner) lenSectors(lv *LV) uint64 { return lv.Extents() * p.vg.ExtentSectors }

// line is a table line of args.
func line(startSectors, lenSectors uint64, target string, args ...string) table.Line {
	return table.Line{Start: startSectors, Length: lenSectors, Type: target, Params: strings.Join(args, " ")}
}

// plainLines maps an LV of striped (linear), zero, error, mirror, raid, cache and writecache
// segments.
func (p *planner) plainLines(lv *LV) ([]table.Line, error) {
	var lines []table.Line
	for i, seg := range lv.Segments {
		start, n := seg.StartExtent*p.vg.ExtentSectors, seg.ExtentCount*p.vg.ExtentSectors
		var l table.Line
		var err error
		switch {
		case seg.Type == "zero" || seg.Type == "error":
			l = line(start, n, seg.Type)
		case seg.Type == "striped":
			l, err = p.striped(lv, i, start, n)
		case seg.Type == "mirror":
			l, err = p.mirror(lv, seg, start, n)
		case raidTargets[seg.Type] != "":
			l, err = p.raid(lv, seg, start, n)
		case cacheSegType(seg.Type) == "cache":
			l, err = p.cache(lv, seg, start, n)
		case seg.Type == "writecache":
			l, err = p.writecache(lv, seg, start, n)
		default:
			err = fmt.Errorf("segment type %q is not supported (striped, linear, zero, error, thin-pool, thin, mirror, raid, cache and writecache are)", seg.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("LV %s/%s segment%d: %w", p.vg.Name, lv.Name, i+1, err)
		}
		lines = append(lines, l)
	}
	return lines, nil
}

// striped maps segment segIndex of lv, a striped segment (one stripe: linear), onto the PVs'
// images; a stripe on a missing PV maps an error device when the activation mode allows it
// (p.fillMissing).
func (p *planner) striped(lv *LV, segIndex int, startSectors, lenSectors uint64) (table.Line, error) {
	seg := lv.Segments[segIndex]
	s := seg.Section
	stripes, err := s.Uint("stripe_count")
	if err != nil {
		return table.Line{}, err
	}
	v := s.Keys["stripes"]
	if stripes == 0 || v.Kind != KindList || stripes > maxVGItems || uint64(len(v.List)) != 2*stripes {
		return table.Line{}, fmt.Errorf("stripe_count %d does not match the stripes list", stripes)
	}
	if seg.ExtentCount%stripes != 0 {
		return table.Line{}, fmt.Errorf("%d extents do not divide into %d stripes", seg.ExtentCount, stripes)
	}
	perStripe := seg.ExtentCount / stripes
	var devs []string
	for i := 0; i < len(v.List); i += 2 {
		name, pe := v.List[i], v.List[i+1]
		if name.Kind != KindString || pe.Kind != KindInt || pe.Int < 0 {
			return table.Line{}, fmt.Errorf("stripe %d is not a PV name and an extent", i/2+1)
		}
		dev, off, err := p.pvArea(name.Str, uint64(pe.Int), perStripe)
		var missing *MissingPVError
		if p.fillMissing && errors.As(err, &missing) {
			dev, off, err = "/dev/mapper/"+p.missingArea(lv, segIndex, i/2, lenSectors), 0, nil
		}
		if err != nil {
			return table.Line{}, fmt.Errorf("stripe %d: %w", i/2+1, err)
		}
		devs = append(devs, dev, strconv.FormatUint(off, 10))
	}
	if stripes == 1 {
		return line(startSectors, lenSectors, "linear", devs...), nil
	}
	size, err := s.Uint("stripe_size")
	if err != nil {
		return table.Line{}, err
	}
	args := append([]string{strconv.FormatUint(stripes, 10), strconv.FormatUint(size, 10)}, devs...)
	return line(startSectors, lenSectors, "striped", args...), nil
}

// pvArea is the image and sector offset of extents [pe, pe+n) of the PV the text calls name.
func (p *planner) pvArea(name string, pe, n uint64) (string, uint64, error) {
	pv := p.vg.PV(name)
	switch {
	case pv == nil:
		if p.vg.LV(name) != nil {
			return "", 0, fmt.Errorf("stripes on LV %s (a pvmove in progress) are not supported", name)
		}
		return "", 0, fmt.Errorf("no PV %s in the VG", name)
	case pe+n > pv.PECount || pe+n < pe:
		return "", 0, fmt.Errorf("extents %d+%d are past the end of PV %s (%d extents)", pe, n, name, pv.PECount)
	case pv.Source == nil:
		return "", 0, &MissingPVError{PV: pv}
	case strings.ContainsAny(pv.Source.Path, " \t\n\\"):
		return "", 0, fmt.Errorf("image %q: a path with blanks or backslashes cannot go in a table", pv.Source.Path)
	}
	return pv.Source.Path, pv.Source.OffsetSectors + pv.PEStartSectors + pe*p.vg.ExtentSectors, nil
}

// pool plans a thin pool's metadata and data LVs and the pool itself, and returns the pool
// device's name and whether thin volumes use it (then the pool is the -tpool layer and the
// LV's own device is a read-only linear map of it).
func (p *planner) pool(lv *LV) (string, bool, error) {
	where := fmt.Sprintf("thin pool %s/%s", p.vg.Name, lv.Name)
	if len(lv.Segments) != 1 {
		return "", false, fmt.Errorf("%s: %d segments, a pool has one", where, len(lv.Segments))
	}
	used := p.usedPools[lv.Name]
	name := DMName(p.vg.Name, lv.Name, "")
	if used {
		name = DMName(p.vg.Name, lv.Name, "tpool")
	}
	if p.done[name] {
		return name, used, nil // planned already, for another of its LVs
	}
	s := lv.Segments[0].Section
	var names [2]string
	var sub [2]*LV
	for i, key := range []string{"metadata", "pool"} {
		var err error
		if names[i], err = s.Str(key); err != nil {
			return "", false, fmt.Errorf("%s: %w", where, err)
		}
		if sub[i] = p.vg.LV(names[i]); sub[i] == nil {
			return "", false, fmt.Errorf("%s: no LV %s (its %s)", where, names[i], key)
		}
	}
	chunk, err := s.Uint("chunk_size")
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", where, err)
	}
	transaction, err := s.Uint("transaction_id")
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", where, err)
	}
	zero, err := s.UintOr("zero_new_blocks", 0)
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", where, err)
	}
	var features []string
	if zero == 0 {
		features = append(features, "skip_block_zeroing")
	}
	discards := "passdown"
	if _, ok := s.Keys["discards"]; ok {
		if discards, err = s.Str("discards"); err != nil {
			return "", false, fmt.Errorf("%s: %w", where, err)
		}
	}
	switch discards {
	case "passdown":
	case "nopassdown":
		features = append(features, "no_discard_passdown")
	case "ignore":
		features = append(features, "ignore_discard")
	default:
		return "", false, fmt.Errorf("%s: discards %q (passdown, nopassdown or ignore)", where, discards)
	}
	if slices.Contains(lv.Status, "ERROR_WHEN_FULL") {
		features = append(features, "error_if_no_space")
	}
	if p.o.ReadOnly {
		features = append(features, "read_only")
	}
	var devs [2]string
	for i, layer := range []string{"tmeta", "tdata"} {
		lines, err := p.plainLines(sub[i])
		if err != nil {
			return "", false, err
		}
		devs[i] = DMName(p.vg.Name, sub[i].Name, "")
		p.add(devs[i], p.dmUUID(sub[i], layer), false, lines)
	}
	args := []string{"/dev/mapper/" + devs[0], "/dev/mapper/" + devs[1], strconv.FormatUint(chunk, 10), "0", strconv.Itoa(len(features))}
	if d := p.add(name, p.dmUUID(lv, "tpool"), false, []table.Line{line(0, p.lenSectors(lv), "thin-pool", append(args, features...)...)}); d != nil {
		d.Transaction = &transaction
	}
	return name, used, nil
}

// thin plans a thin volume and the pool under it.
func (p *planner) thin(lv *LV) error {
	where := fmt.Sprintf("thin volume %s/%s", p.vg.Name, lv.Name)
	if len(lv.Segments) != 1 {
		return fmt.Errorf("%s: %d segments, a thin volume has one", where, len(lv.Segments))
	}
	s := lv.Segments[0].Section
	poolName, err := s.Str("thin_pool")
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	pool := p.vg.LV(poolName)
	if pool == nil || pool.Segments[0].Type != "thin-pool" {
		return fmt.Errorf("%s: no thin pool LV %s", where, poolName)
	}
	id, err := s.Uint("device_id")
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	tpool, _, err := p.pool(pool)
	if err != nil {
		return err
	}
	args := []string{"/dev/mapper/" + tpool, strconv.FormatUint(id, 10)}
	if _, ok := s.Keys["external_origin"]; ok {
		name, err := s.Str("external_origin")
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		e := p.vg.LV(name)
		if e == nil {
			return fmt.Errorf("%s: no LV %s (its external origin)", where, name)
		}
		real, err := p.externalOrigin(e)
		if err != nil {
			return err
		}
		args = append(args, "/dev/mapper/"+real)
	}
	p.add(DMName(p.vg.Name, lv.Name, ""), p.dmUUID(lv, ""), !lv.Writable(), []table.Line{
		line(0, p.lenSectors(lv), "thin", args...)})
	return nil
}

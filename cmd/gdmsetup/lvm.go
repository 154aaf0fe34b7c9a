package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/gdmsetup/gdmsetup/lvm"
	"github.com/gdmsetup/gdmsetup/table"
)

const lvmUsage = "lvm scan IMAGE... | lvm activate [--readonly] [--ignoreactivationskip] [--activationmode complete|degraded|partial] [--lv VG[/LV]]... [--concise] IMAGE... | lvm deactivate VG..."

// cmdLvm is `lvm scan|activate|deactivate`: LVM2 volume groups on image files (docs/lvm.md).
func cmdLvm(e *env) error {
	if len(e.args) == 0 {
		return usageError("Please specify lvm scan, activate or deactivate.")
	}
	sub, args := e.args[0], e.args[1:]
	switch sub {
	case "scan", "activate":
		if len(args) == 0 {
			return usageError(fmt.Sprintf("lvm %s: please specify the images.", sub))
		}
		pvs, vgs, err := lvmScan(e, args)
		if err != nil {
			return err
		}
		if sub == "scan" {
			lvmPrintScan(e, pvs, vgs)
			return nil
		}
		if err := lvmLinkImages(e, vgs); err != nil {
			return err
		}
		return lvmActivate(e, vgs)
	case "deactivate":
		if len(args) == 0 {
			return usageError("lvm deactivate: please specify the volume groups.")
		}
		return lvmDeactivate(e, args)
	}
	return usageError(fmt.Sprintf("lvm: unknown command %q (scan, activate or deactivate).", sub))
}

// lvmScan finds the PVs of the images (paths made absolute, as tables keep them) and
// assembles their VGs; a damaged metadata copy is reported on stderr and left out.
func lvmScan(e *env, images []string) ([]*lvm.PV, []*lvm.VG, error) {
	var pvs []*lvm.PV
	for _, img := range images {
		abs, err := filepath.Abs(img)
		if err != nil {
			return nil, nil, err
		}
		found, err := lvm.ScanImage(abs)
		if err != nil {
			return nil, nil, err
		}
		if len(found) == 0 {
			return nil, nil, fmt.Errorf("%s: no LVM2 physical volume (at its start or in a partition)", img)
		}
		for _, pv := range found {
			if pv.Damage != nil {
				fmt.Fprintf(e.stderr, "gdmsetup: warning: %v\n", pv.Damage)
			}
		}
		pvs = append(pvs, found...)
	}
	vgs, err := lvm.Assemble(pvs)
	return pvs, vgs, err
}

// lvmPrintScan prints what lvmScan found: the PVs, then each VG with its LVs.
func lvmPrintScan(e *env, pvs []*lvm.PV, vgs []*lvm.VG) {
	for _, pv := range pvs {
		where := pv.Source.Path
		if pv.Partition > 0 {
			where = fmt.Sprintf("%s partition %d (sector %d)", where, pv.Partition, pv.Source.OffsetSectors)
		}
		vg := "-"
		switch {
		case pv.VG != nil:
			vg = pv.VG.Name
		case pv.Damage != nil:
			vg = "- (metadata damaged)"
		}
		fmt.Fprintf(e.stdout, "PV %s: id %s, VG %s\n", where, pv.Label.UUID, vg)
	}
	for _, vg := range vgs {
		missing := vg.MissingPVs()
		fmt.Fprintf(e.stdout, "VG %s: id %s, seqno %d, extent %d sectors, %d of %d PVs found\n", vg.Name, vg.ID, vg.Seqno, vg.ExtentSectors, len(vg.PVs)-len(missing), len(vg.PVs))
		for _, pv := range missing {
			fmt.Fprintf(e.stdout, "  PV %s missing: id %s, last seen as %s\n", pv.Name, pv.ID, pv.Device)
		}
		named, err := vg.NamedLVs()
		if err != nil {
			fmt.Fprintf(e.stdout, "  %v\n", err)
			continue
		}
		notes := lvmScanNotes(vg)
		for _, lv := range named {
			var types []string
			for _, seg := range lv.Segments {
				if !slices.Contains(types, seg.Type) {
					types = append(types, seg.Type)
				}
			}
			what := strings.Join(types, "+")
			if n, ok := notes[lv]; ok && n.replaces {
				what = n.text
			} else if ok {
				what += ", " + n.text
			}
			if lv.SkipsActivation() {
				what += ", skipped by activation"
			}
			fmt.Fprintf(e.stdout, "  LV %s/%s: %d sectors, %s\n", vg.Name, lv.Name, lv.Extents()*vg.ExtentSectors, what)
		}
	}
}

// lvmScanNote is what scan says of an LV beside its segment types, or instead of them.
type lvmScanNote struct {
	text     string
	replaces bool
}

// lvmScanNotes says which LVs are snapshots (of which origin, with which chunk size), which
// origins have a merge pending, which thin volumes have an external origin, which LVs (or
// thin pools' data LVs) are cached and how, which thin pools have messages pending.
func lvmScanNotes(vg *lvm.VG) map[*lvm.LV]lvmScanNote {
	notes := map[*lvm.LV]lvmScanNote{}
	snaps, _ := vg.Snapshots() // NamedLVs checked them
	for _, s := range snaps {
		if s.Merging {
			notes[s.Origin] = lvmScanNote{text: "snapshot " + s.COW.Name + " merging into it"}
			continue
		}
		notes[s.COW] = lvmScanNote{text: fmt.Sprintf("snapshot of %s (chunk %d sectors)", s.Origin.Name, s.ChunkSectors), replaces: true}
	}
	for _, lv := range vg.LVs {
		if e := lv.ExternalOrigin(); e != "" {
			notes[lv] = lvmScanNote{text: "external origin " + e}
		}
		cache := vg.CacheDescription(lv)
		if cache != "" {
			notes[lv] = lvmScanNote{text: cache, replaces: lv.Segments[0].Type != "thin-pool"}
		}
		if lv.Segments[0].Type != "thin-pool" {
			continue
		}
		pending := ""
		switch msgs, err := vg.PendingMessages(lv); {
		case err != nil:
			pending = err.Error()
		case msgs != nil:
			pending = "messages pending (lvm2 sends them at its next change to the pool): " + strings.Join(msgs, ", ")
		}
		if pending != "" && cache != "" {
			pending = cache + ", " + pending
		}
		if pending != "" {
			notes[lv] = lvmScanNote{text: pending}
		}
	}
	return notes
}

// lvmActivate plans the devices of the VGs (or of the --lv selection, VGs in the order first
// named) as lvm2 activates them and creates them (lvmCreate). As lvm2, it warns of each PV
// missing from the images; the LVs on one that --activationmode refuses are left out and
// reported, the command failing after the others are active.
func lvmActivate(e *env, vgs []*lvm.VG) error {
	var order []string
	sel := map[string][]string{} // VG name -> LVs (none: all)
	for _, s := range e.opts["lv"] {
		vg, lv, _ := strings.Cut(s, "/")
		if vg == "" || strings.Contains(lv, "/") {
			return usageError(fmt.Sprintf("--lv %q: expected VG or VG/LV.", s))
		}
		if _, ok := sel[vg]; !ok {
			order = append(order, vg)
			sel[vg] = nil
		}
		if lv != "" {
			sel[vg] = append(sel[vg], lv)
		}
	}
	byName := map[string]*lvm.VG{}
	for _, vg := range vgs {
		if byName[vg.Name] != nil {
			return fmt.Errorf("two volume groups are named %s (ids %s and %s): give the images of one", vg.Name, byName[vg.Name].ID, vg.ID)
		}
		byName[vg.Name] = vg
		if len(sel) == 0 {
			order = append(order, vg.Name)
		}
	}
	mode, err := lvmActivationMode(e)
	if err != nil {
		return err
	}
	var devs []lvm.Device
	var refused []error
	for _, name := range order {
		vg := byName[name]
		if vg == nil {
			return fmt.Errorf("no volume group %s in the images", name)
		}
		for _, pv := range vg.MissingPVs() {
			fmt.Fprintf(e.stderr, "gdmsetup: warning: VG %s is missing PV %s (last written to %s)\n", vg.Name, pv.ID, pv.Device)
		}
		planned, err := vg.Plan(lvm.PlanOptions{LVs: sel[name], IgnoreSkip: e.opts.has("ignoreactivationskip"), ReadOnly: e.opts.has("readonly"), Mode: mode})
		var some *lvm.PartialError
		if errors.As(err, &some) {
			refused = append(refused, some.Refused...)
		} else if err != nil {
			return err
		}
		devs = append(devs, planned...)
	}
	failed, err := lvmCreate(e, devs)
	if err != nil {
		return err
	}
	for _, r := range append(refused, failed...) {
		fmt.Fprintf(e.stderr, "gdmsetup: %v\n", r)
	}
	var why []string
	if len(refused) > 0 {
		hint := "--activationmode partial activates them, their areas on missing PVs reading and writing as errors"
		if mode == lvm.Complete {
			hint = "--activationmode degraded activates the raid LVs among them that keep enough members; " + hint
		}
		why = append(why, fmt.Sprintf("%d LV(s) on missing PVs not activated: %s", len(refused), hint))
	}
	if len(failed) > 0 {
		why = append(why, fmt.Sprintf("%d LV(s) failed to activate", len(failed)))
	}
	if why != nil {
		return errors.New(strings.Join(why, "; "))
	}
	return nil
}

// lvmActivationMode reads --activationmode: lvm2's degraded (the default), complete or
// partial (lvm.ActivationMode).
func lvmActivationMode(e *env) (lvm.ActivationMode, error) {
	switch m := e.opts.str("activationmode"); m {
	case "", "degraded":
		return lvm.Degraded, nil
	case "complete":
		return lvm.Complete, nil
	case "partial":
		return lvm.Partial, nil
	default:
		return 0, usageError(fmt.Sprintf("--activationmode %q: expected complete, degraded or partial.", m))
	}
}

// lvmCreate creates the planned devices, or prints them as a concise list with --concise.
// A device that exists with the UUID planned for it is taken as active already (as lvm2
// does), and every name is checked before the first is created. Devices are created LV by LV
// as lvm2's vgchange activates them (lvmCreateLV); the failures are returned, one per LV.
func lvmCreate(e *env, devs []lvm.Device) ([]error, error) {
	if e.opts.has("concise") {
		concise := make([]table.ConciseDevice, len(devs))
		for i, d := range devs {
			concise[i] = d.ConciseDevice
		}
		fmt.Fprintln(e.stdout, table.FormatConcise(concise))
		return nil, nil
	}
	planned := map[string]lvm.Device{}
	for _, d := range devs {
		if old, ok := e.reg.Lookup(d.Name); ok && old.UUID() != d.UUID {
			return nil, fmt.Errorf("device %s already exists with UUID %q, not %s", d.Name, old.UUID(), d.UUID)
		}
		planned[d.Name] = d
	}
	var failed []error
	for len(devs) > 0 {
		n := 1
		for n < len(devs) && devs[n].LV == devs[0].LV {
			n++
		}
		if err := lvmCreateLV(e, devs[:n], planned); err != nil {
			failed = append(failed, fmt.Errorf("LV %s not activated: %w", devs[0].LV, err))
		}
		devs = devs[n:]
	}
	return failed, nil
}

// lvmCreateLV creates the devices of one LV's activation, each after the planned devices its
// table names that do not exist (those of an LV whose activation failed before are tried
// again, as lvm2 builds each LV's tree afresh). A pool's or cache's metadata is checked
// first (lvmPoolCheck). A device that fails to create, a pool whose metadata fails its
// check or whose transaction id is wrong, fails the LV: the devices made for it are removed,
// but for a snapshot that fails to load, its own layers (its -cow and the error devices of
// its COW's areas on missing PVs): lvm2 then deactivates the origin from its top device,
// which does not reach them through a snapshot that does not exist, and leaves them.
func lvmCreateLV(e *env, lv []lvm.Device, planned map[string]lvm.Device) error {
	var made []string
	var failedSnapshot string // the UUID of a snapshot whose load failed
	visiting := map[string]bool{}
	var ensure func(d lvm.Device) error
	ensure = func(d lvm.Device) error {
		if _, ok := e.reg.Lookup(d.Name); ok || visiting[d.Name] {
			return nil
		}
		visiting[d.Name] = true
		for _, l := range d.Table {
			for _, w := range strings.Fields(l.Params) {
				name, ok := strings.CutPrefix(w, "/dev/mapper/")
				if dep, isPlanned := planned[name]; ok && isPlanned {
					if err := ensure(dep); err != nil {
						return err
					}
				}
			}
		}
		if err := e.lvmPoolCheck(d); err != nil {
			return err
		}
		if err := e.reg.Create(d.Name, d.UUID, targetLines(d.Table), d.Flags == "ro"); err != nil {
			if len(d.Table) == 1 && d.Table[0].Type == "snapshot" {
				failedSnapshot = d.UUID
			}
			return fmt.Errorf("%s: %w", d.Name, err)
		}
		made = append(made, d.Name)
		if d.Transaction != nil {
			if err := e.poolTransaction(d.Name, *d.Transaction); err != nil {
				return fmt.Errorf("%s: %w", d.Name, err)
			}
		}
		return nil
	}
	for _, d := range lv {
		if err := ensure(d); err != nil {
			for i := len(made) - 1; i >= 0; i-- {
				if failedSnapshot != "" && strings.HasPrefix(planned[made[i]].UUID, failedSnapshot+"-") {
					continue
				}
				e.reg.Remove(made[i])
			}
			return err
		}
	}
	return nil
}

// poolTransaction checks thin pool name's metadata against the transaction want that the
// VG's metadata expects, as libdm does (_thin_pool_node_send_messages): the pool may be at
// want, or one behind, which is what a crash between lvm2's commit of the VG and its
// messages to the pool leaves (lvm2 sends the messages at its next change to the pool, not
// at an activation: thin volumes whose creation is pending then fail to load).
func (e *env) poolTransaction(name string, want uint64) error {
	lines, err := e.reg.Lines(name, false, true)
	if err != nil {
		return err
	}
	if len(lines) != 1 {
		return fmt.Errorf("thin pool has %d targets", len(lines))
	}
	word, _, _ := strings.Cut(lines[0].Params, " ")
	got, err := strconv.ParseUint(word, 10, 64)
	switch {
	case err != nil:
		return fmt.Errorf("the pool's status is %q, not a transaction_id", lines[0].Params)
	case got != want && got+1 != want:
		return fmt.Errorf("transaction_id is %d in the pool's metadata, the VG's metadata expects %d", got, want)
	}
	return nil
}

// lvmDeactivate removes the devices of each VG (those with an lvm2 UUID whose name's VG
// part, as splitname reads it, is the VG), users before what they stand on.
func lvmDeactivate(e *env, vgNames []string) error {
	for _, vg := range vgNames {
		var left []string
		for _, d := range e.reg.Devices() {
			if strings.HasPrefix(d.UUID(), "LVM-") && splitDeviceName("LVM", d.Name()).vg == vg {
				left = append(left, d.Name())
			}
		}
		if len(left) == 0 {
			return fmt.Errorf("volume group %s has no active devices", vg)
		}
		for len(left) > 0 {
			var busy []string
			var lastErr error
			for _, name := range left {
				if err := e.reg.Remove(name); err != nil {
					if !errors.Is(err, syscall.EBUSY) {
						return fmt.Errorf("%s: %w", name, err)
					}
					busy, lastErr = append(busy, name), err
				}
			}
			if len(busy) == len(left) {
				return fmt.Errorf("volume group %s: %s: %w", vg, strings.Join(busy, ", "), lastErr)
			}
			left = busy
		}
	}
	return nil
}

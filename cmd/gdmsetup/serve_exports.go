package main

import (
	"errors"
	"fmt"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/nbd"
	"github.com/gdmsetup/gdmsetup/targets"
)

// deviceExports offers the server's devices with a live table over NBD, by
// name, all of them or those --export names. Export names are device names
// as dmsetup shows and takes them: the kernel's (mangled) names decoded per
// the server's --manglename mode, and a client's name mangled per it.
// Lookups take the server's control lock.
type deviceExports struct {
	s        *server
	mangling nameMangling
	// only, when not nil, holds the kernel's names of those --export allows.
	only map[string]bool
}

// newDeviceExports offers the devices the --export names select (all of
// them when there is none), names mangled per mode; a name that cannot be
// mangled is refused.
func newDeviceExports(s *server, mode nameMangling, export []string) (*deviceExports, error) {
	x := &deviceExports{s: s, mangling: mode}
	if export == nil {
		return x, nil
	}
	x.only = map[string]bool{}
	for _, n := range export {
		k, err := x.kernelName(n)
		if err != nil {
			return nil, fmt.Errorf("--export: %w", err)
		}
		x.only[k] = true
	}
	return x, nil
}

// kernelName is the kernel's name of the device an export name names.
func (x *deviceExports) kernelName(export string) (string, error) {
	return mangledFor(x.mangling, export, "name", dm.MaxNameLen, fmt.Sprintf("Failed to mangle device name \"%s\".", export))
}

// List returns the exportable devices' names as shown (a name that cannot
// be decoded is listed as the kernel holds it), in the kernel's order.
func (x *deviceExports) List() []string {
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	var names []string
	for _, d := range x.s.reg.Devices() {
		if x.allowed(d.Name()) && d.Info().Live {
			name, err := shownFor(x.mangling, d.Name(), "name")
			if err != nil {
				name = d.Name()
			}
			names = append(names, name)
		}
	}
	return names
}

func (x *deviceExports) allowed(kernel string) bool { return x.only == nil || x.only[kernel] }

// Open builds the device's live table and counts the client as an opener
// (the device's open count: remove is refused until release). The release
// takes the control lock and saves the registry: it may remove a device
// marked by remove --deferred. The empty name selects the only exportable device when there
// is exactly one.
func (x *deviceExports) Open(name string) (nbd.Export, func(), error) {
	if name == "" {
		if names := x.List(); len(names) == 1 {
			name = names[0]
		}
	}
	kernel, err := x.kernelName(name)
	if err != nil {
		return nil, nil, fmt.Errorf("device %q is not exported: %w", name, err)
	}
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	d, ok := x.s.reg.Lookup(kernel)
	if !ok || !x.allowed(kernel) {
		return nil, nil, fmt.Errorf("device %q is not exported", name)
	}
	info := d.Info()
	if !info.Live {
		return nil, nil, fmt.Errorf("device %q has no live table", name)
	}
	if err := d.Prepare(); err != nil {
		return nil, nil, fmt.Errorf("device %q: %w", name, err)
	}
	opened := d.Opened()
	release := func() {
		x.s.mu.Lock()
		defer x.s.mu.Unlock()
		opened()
		if err := x.s.reg.Save(); err != nil {
			x.s.logf("%v", err)
		}
	}
	return &deviceExport{Device: d, sizeBytes: d.SizeBytes(), readOnly: info.ReadOnly}, release, nil
}

// deviceExport is a mapped device as an NBD export. Its size and read-only
// flag are taken when the client opens it (a reload changes them for the
// next client); I/O goes through the device's gate, so it waits while the
// device is suspended.
type deviceExport struct {
	*dm.Device
	sizeBytes int64
	readOnly  bool
}

// deviceExport takes a WRITE with the FUA flag as the device's FUA write
// (dm.Device.WriteFUA: the targets it touches get REQ_FUA writes), not as a
// write and then a flush of the whole device.
var _ nbd.FUAWriter = (*deviceExport)(nil)

func (e *deviceExport) Size() int64    { return e.sizeBytes }
func (e *deviceExport) ReadOnly() bool { return e.readOnly }

// inner is the range of the device's whole logical blocks (sectors unless
// a target raises the size) inside [offBytes, offBytes+lenBytes); end <=
// start when there is none.
func (e *deviceExport) inner(offBytes, lenBytes int64) (start, end int64) {
	bs := e.LogicalBlockBytes()
	return (offBytes + bs - 1) / bs * bs, (offBytes + lenBytes) / bs * bs
}

// Discard discards the whole logical blocks inside the range (a discard is
// advisory: the partial blocks at either end keep their data).
func (e *deviceExport) Discard(offBytes, lenBytes int64) error {
	start, end := e.inner(offBytes, lenBytes)
	if end <= start {
		return nil
	}
	return e.Device.Discard(start, end-start)
}

// WriteZeroes is NBD's WRITE_ZEROES: the whole logical blocks inside the
// range go to the device's WriteZeroes (fallocate on a file under linear;
// thin and others get zeros written), the partial blocks at either end are
// written with zeros. mayTrim (no NBD_CMD_FLAG_NO_HOLE) lets the device
// deallocate.
func (e *deviceExport) WriteZeroes(offBytes, lenBytes int64, mayTrim bool) error {
	return e.zeroes(offBytes, lenBytes, mayTrim, false)
}

// WriteZeroesFast is WRITE_ZEROES with NBD_CMD_FLAG_FAST_ZERO: fast when the
// range holds a whole logical block and every target under those blocks
// zeroes without writing zeros (dm.Device.WriteZeroesFast: linear over
// files, through stacked devices too); the partial blocks at either end, less
// than a block each, are written with zeros after. Anything else (thin,
// striped, zero, a range inside one block) is refused at once with an error
// matching errors.ErrUnsupported.
func (e *deviceExport) WriteZeroesFast(offBytes, lenBytes int64, mayTrim bool) error {
	return e.zeroes(offBytes, lenBytes, mayTrim, true)
}

// zeroes zeroes the whole logical blocks inside the range with the device's
// WriteZeroes (or WriteZeroesFast when fast), then writes zeros over the
// partial blocks at either end; a range with no whole block inside is
// written with zeros, or refused when fast.
func (e *deviceExport) zeroes(offBytes, lenBytes int64, mayTrim, fast bool) error {
	start, end := e.inner(offBytes, lenBytes)
	if end <= start {
		if fast {
			return fmt.Errorf("fast zero %d+%d: no whole %d-byte block inside: %w", offBytes, lenBytes, e.LogicalBlockBytes(), errors.ErrUnsupported)
		}
		_, err := e.Device.WriteAt(make([]byte, lenBytes), offBytes)
		return err
	}
	zero := e.Device.WriteZeroes
	if fast {
		zero = e.Device.WriteZeroesFast
	}
	if err := zero(start, end-start, mayTrim); err != nil {
		return err
	}
	if start > offBytes {
		if _, err := e.Device.WriteAt(make([]byte, start-offBytes), offBytes); err != nil {
			return err
		}
	}
	if tail := offBytes + lenBytes - end; tail > 0 {
		if _, err := e.Device.WriteAt(make([]byte, tail), end); err != nil {
			return err
		}
	}
	return nil
}

// BlockStatus is NBD's base:allocation: the device's holes (unprovisioned
// thin blocks) and data, over the whole sectors of the range; a partial
// sector at either end counts as data.
func (e *deviceExport) BlockStatus(offBytes, lenBytes int64) ([]nbd.Extent, error) {
	start := (offBytes + targets.SectorSize - 1) / targets.SectorSize * targets.SectorSize
	end := (offBytes + lenBytes) / targets.SectorSize * targets.SectorSize
	var out []nbd.Extent
	if start > offBytes {
		out = append(out, nbd.Extent{LenBytes: min(start, offBytes+lenBytes) - offBytes})
	}
	if end > start {
		xs, err := e.Device.Allocation(start, end-start)
		if err != nil {
			return nil, err
		}
		for _, x := range xs {
			out = append(out, nbd.Extent{LenBytes: int64(x.LenSectors) * targets.SectorSize, Hole: x.Hole, Zero: x.Hole})
		}
	}
	if tail := offBytes + lenBytes - max(end, start); tail > 0 {
		out = append(out, nbd.Extent{LenBytes: tail})
	}
	return out, nil
}

package dm

import (
	"errors"
	"strings"
	"syscall"

	"github.com/gdmsetup/gdmsetup/errno"
	"github.com/gdmsetup/gdmsetup/targets"
)

// TargetLine is one line of a table to load: start and length in sectors,
// the target type and its arguments (already split).
type TargetLine struct {
	Start, Len uint64
	Type       string
	Args       []string
}

func specs(lines []TargetLine) []targetSpec {
	out := make([]targetSpec, len(lines))
	for i, l := range lines {
		out[i] = targetSpec{Start: l.Start, Len: l.Len, Type: l.Type, Args: l.Args}
	}
	return out
}

func (r *Registry) ioctlErr(op string, d *Device, name string, e syscall.Errno) *IoctlError {
	ie := &IoctlError{Op: op, Name: name, Errno: e}
	if d != nil {
		ie.UUID = d.st.UUID
	}
	return ie
}

// Create makes a device and, when lines is not nil, loads and resumes its
// first table (dmsetup create). It takes the lowest free minor; if the table
// fails, the device is removed again and the error shows the minor it had.
func (r *Registry) Create(name, uuid string, lines []TargetLine, readOnly bool) error {
	if _, ok := r.Lookup(name); ok || name == "" || strings.Contains(name, "/") || len(name) > MaxNameLen {
		e := syscall.EBUSY
		if !ok {
			e = syscall.EINVAL
		}
		return &IoctlError{Op: "create", Name: name, UUID: uuid, Errno: e}
	}
	if uuid != "" {
		for _, d := range r.devs {
			if d.st.UUID == uuid {
				return &IoctlError{Op: "create", Name: name, UUID: uuid, Errno: syscall.EBUSY}
			}
		}
	}
	minor := r.lowestFreeMinor()
	d := newDevice(r, deviceState{Name: name, UUID: uuid, Minor: minor, ReadOnly: readOnly})
	r.devs[minor] = d
	if lines == nil {
		return nil
	}
	undo := func(op string, e syscall.Errno) error {
		d.destroyTables()
		delete(r.devs, minor)
		return &IoctlError{Op: op, Name: name, UUID: uuid, ShowMinor: true, Minor: minor, Errno: e}
	}
	if e := r.load(d, lines, readOnly); e != 0 {
		return undo("reload", e)
	}
	if e := r.resume(d, false); e != 0 {
		return undo("resume", e)
	}
	d.st.Node = true
	return nil
}

// Load fills a device's inactive table (dmsetup load / reload). A failed
// load leaves the device as it was. The table is read-write; the device
// becomes writable when it goes live.
func (r *Registry) Load(name string, lines []TargetLine) error {
	return r.loadNamed(name, lines, false)
}

// LoadReadOnly is Load of a read-only table (`load --readonly`): writes to
// it fail, targets see Context.ReadOnly, and the device becomes read-only
// when it goes live.
func (r *Registry) LoadReadOnly(name string, lines []TargetLine) error {
	return r.loadNamed(name, lines, true)
}

func (r *Registry) loadNamed(name string, lines []TargetLine, readOnly bool) error {
	d, ok := r.Lookup(name)
	if !ok {
		return r.ioctlErr("reload", nil, name, syscall.ENXIO)
	}
	if e := r.load(d, lines, readOnly); e != 0 {
		return r.ioctlErr("reload", nil, name, e)
	}
	r.removeDeferred()
	return nil
}

func (r *Registry) load(d *Device, lines []TargetLine, readOnly bool) syscall.Errno {
	r.activateAll()
	t, err := r.build(d, specs(lines), readOnly, false, true)
	if err != nil {
		return errno.Of(err)
	}
	requestBased, e := r.checkType(d, t)
	if e != 0 {
		t.destroy()
		return e
	}
	if !d.st.Typed && !r.checkLimits(d, t) {
		t.destroy()
		r.klogf("core: Cannot calculate initial queue limits")
		r.klogf("ioctl: unable to set up device queue for new table.")
		return syscall.EINVAL
	}
	d.st.Typed = true
	d.st.RequestBased = requestBased
	d.dropInactive()
	d.inactive = t
	spec := t.spec
	d.st.Inactive = &spec
	return 0
}

// Suspend suspends a device: the targets' presuspend hooks run (delay lets
// the I/O it holds go), new I/O waits, in-flight I/O drains, then the
// targets' postsuspend hooks run (thin-pool and clone commit).
func (r *Registry) Suspend(name string) error {
	return r.suspendNamed(name, false)
}

// SuspendNoflush is Suspend with noflush (`dmsetup suspend --noflush`): I/O
// a target cannot serve now (multipath without a path) is not failed but
// sent back to the core, which holds it until the resume and then issues
// it to the table live then (see targets.ErrRequeue).
func (r *Registry) SuspendNoflush(name string) error {
	return r.suspendNamed(name, true)
}

func (r *Registry) suspendNamed(name string, noflush bool) error {
	d, ok := r.Lookup(name)
	if !ok {
		return r.ioctlErr("suspend", nil, name, syscall.ENXIO)
	}
	if err := d.suspend(noflush); err != nil {
		return r.ioctlErr("suspend", nil, name, errno.Of(err))
	}
	return nil
}

// suspend is __dm_suspend; with noflush the targets see
// NoflushSuspending from before their presuspend hooks until in-flight
// I/O has drained.
func (d *Device) suspend(noflush bool) error {
	d.mu.Lock()
	if d.suspended {
		d.mu.Unlock()
		return nil
	}
	d.noflush = noflush
	d.mu.Unlock()
	// the live table exists in the kernel: its presuspend hooks run in
	// whichever process suspends
	live, err := d.liveTable()
	if err != nil && d.st.Live != nil {
		d.endNoflush()
		return err
	}
	// dm_suspend's order: presuspend before I/O is held back and waited for
	if live != nil {
		for _, e := range live.entries {
			if p, ok := e.target.(targets.PreSuspender); ok {
				p.PreSuspend()
			}
		}
	}
	d.mu.Lock()
	d.suspended = true
	for d.inflight > 0 {
		d.cond.Wait()
	}
	d.mu.Unlock()
	d.endNoflush()
	if live != nil {
		for _, e := range live.entries {
			if s, ok := e.target.(targets.Suspender); ok {
				if err := s.PostSuspend(); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// endNoflush ends the noflush phase of a suspend: I/O its targets sent
// back goes on to wait at the gate.
func (d *Device) endNoflush() {
	d.mu.Lock()
	if d.noflush {
		d.noflush = false
		d.cond.Broadcast()
	}
	d.mu.Unlock()
}

// Resume makes an inactive table live (after checking the ranges it uses)
// and resumes I/O, running the targets' preresume and resume hooks.
func (r *Registry) Resume(name string) error {
	return r.resumeNamed(name, false)
}

// ResumeNoflush is Resume whose suspend before swapping in an inactive
// table, when the device is not suspended yet, is a noflush one (see
// SuspendNoflush).
func (r *Registry) ResumeNoflush(name string) error {
	return r.resumeNamed(name, true)
}

func (r *Registry) resumeNamed(name string, noflush bool) error {
	d, ok := r.Lookup(name)
	if !ok {
		return r.ioctlErr("resume", nil, name, syscall.ENXIO)
	}
	e := r.resume(d, noflush)
	// a failed resume may have dropped the inactive table too
	r.removeDeferred()
	if e != 0 {
		return r.ioctlErr("resume", nil, name, e)
	}
	d.st.Node = true
	return nil
}

// resume is do_resume: a stored inactive table is swapped in (the device
// suspended first), then dm_resume runs the live table's hooks, and only
// then is the table it replaced destroyed, whether the hooks refused the
// resume or not: a new table's preresume and resume still see the old one
// (a snapshot takes its exceptions from it). A refused resume leaves the
// new table live and the device suspended.
func (r *Registry) resume(d *Device, noflush bool) syscall.Errno {
	swapped := false
	var old *Table
	if d.st.Inactive != nil {
		t, err := d.inactiveTable()
		if err != nil {
			return errno.Of(err)
		}
		if err := d.suspend(noflush); err != nil {
			return errno.Of(err)
		}
		if !r.checkLimits(d, t) {
			t.destroy()
			d.inactive, d.st.Inactive = nil, nil
			return syscall.EINVAL
		}
		d.mu.Lock()
		old = d.live
		d.live = t
		d.mu.Unlock()
		d.inactive = nil
		d.st.Live, d.st.Inactive = d.st.Inactive, nil
		d.st.ReadOnly = t.readOnly
		ra := t.readAheadSectors()
		d.st.ReadAhead = &ra
		swapped = true
	}
	e := r.resumeTargets(d, swapped)
	if old != nil {
		old.destroy()
	}
	return e
}

// resumeTargets is dm_resume: a suspended device (or one that just got a
// new table) runs every target's preresume, then, I/O let in, every
// target's resume. A refused preresume leaves the device suspended.
func (r *Registry) resumeTargets(d *Device, swapped bool) syscall.Errno {
	if !d.Suspended() && !swapped {
		return 0
	}
	live, err := d.liveTable()
	if err != nil && d.st.Live != nil {
		return errno.Of(err)
	}
	if live != nil {
		for _, e := range live.entries {
			if h, ok := e.target.(targets.Resumer); ok {
				if err := h.PreResume(); err != nil {
					no := errno.Of(err)
					r.klogf("table: %s: %s: preresume failed, error = -%d", d.devName(), e.typ.Name, int(no))
					return no
				}
			}
		}
	}
	d.mu.Lock()
	d.suspended = false
	d.cond.Broadcast()
	d.mu.Unlock()
	if live != nil {
		for _, e := range live.entries {
			if h, ok := e.target.(targets.Resumer); ok {
				h.Resume()
			}
		}
	}
	return 0
}

// Remove removes a device nothing has open (else EBUSY): its tables are
// released (stateful targets commit) and its minor becomes free.
func (r *Registry) Remove(name string) error {
	return r.removeNamed(name, false)
}

// removeNamed is Remove, or RemoveDeferred when deferred is set. The devices
// the removed one held open may go with it, if they were marked.
func (r *Registry) removeNamed(name string, deferred bool) error {
	d, ok := r.Lookup(name)
	if !ok {
		return r.ioctlErr("remove", nil, name, syscall.ENXIO)
	}
	if d.openCount() > 0 {
		if deferred {
			d.st.DeferredRemove = true
			return nil
		}
		return r.ioctlErr("remove", nil, name, syscall.EBUSY)
	}
	if err := r.remove(d); err != nil {
		return err
	}
	r.removeDeferred()
	return nil
}

func (r *Registry) remove(d *Device) error {
	if err := d.suspend(false); err != nil {
		return r.ioctlErr("remove", nil, d.st.Name, errno.Of(err))
	}
	if err := d.destroyTables(); err != nil {
		return r.ioctlErr("remove", nil, d.st.Name, errno.Of(err))
	}
	delete(r.devs, d.st.Minor)
	return nil
}

// RemoveAll removes every device nothing has open, users before the devices
// they use; those left open (by an NBD client, or by a device left so) are
// counted in a kernel warning, as dm_hash_remove_all.
func (r *Registry) RemoveAll() error {
	return r.removeAll(false)
}

// RemoveAllDeferred is RemoveAll that also marks the devices it leaves for
// deferred removal (remove_all --deferred).
func (r *Registry) RemoveAllDeferred() error {
	return r.removeAll(true)
}

func (r *Registry) removeAll(deferred bool) error {
	left := 0
	for _, d := range r.topoOrder() {
		if d.openCount() > 0 {
			left++
			d.st.DeferredRemove = d.st.DeferredRemove || deferred
			continue
		}
		if err := r.remove(d); err != nil {
			return err
		}
	}
	if left > 0 {
		r.klogf("ioctl: remove_all left %d open device(s)", left)
	}
	return nil
}

// Rename renames a device (dmsetup rename); tables refer to it by number,
// so they keep working.
func (r *Registry) Rename(oldName, newName string) error {
	return r.rename(oldName, newName, false)
}

// Clear drops a device's inactive table.
func (r *Registry) Clear(name string) error {
	d, ok := r.Lookup(name)
	if !ok {
		return r.ioctlErr("clear", nil, name, syscall.ENXIO)
	}
	d.dropInactive()
	d.st.Inactive = nil
	r.removeDeferred()
	return nil
}

// Message sends a message to the target holding sector of the live table;
// a message whose first word starts with '@' is for the device-mapper core
// (@cancel_deferred_remove and the statistics' @stats_*) and needs no table.
func (r *Registry) Message(name string, sector uint64, args []string) (string, error) {
	d, ok := r.Lookup(name)
	if !ok {
		return "", r.ioctlErr("message", nil, name, syscall.ENXIO)
	}
	fail := func(e syscall.Errno) (string, error) { return "", r.ioctlErr("message", nil, name, e) }
	if len(args) == 0 {
		r.klogf("ioctl: Empty message received.")
		return fail(syscall.EINVAL)
	}
	if strings.HasPrefix(args[0], "@") {
		reply, e := r.coreMessage(d, args)
		if e != 0 {
			return fail(e)
		}
		return reply, nil
	}
	t, err := d.liveTable()
	if err != nil {
		if d.st.Live == nil {
			r.klogf("ioctl: The device has no table.")
		}
		return fail(syscall.EINVAL)
	}
	if sector >= t.lenSectors {
		r.klogf("ioctl: Target message sector outside device.")
		return fail(syscall.EINVAL)
	}
	// the devices using this one are active as in the kernel, where they
	// hold it open (a pool refuses to delete a thin device in use)
	for _, u := range r.users(d) {
		u.liveTable()
	}
	m, ok := t.entries[t.find(sector)].target.(targets.Messenger)
	if !ok {
		r.klogf("ioctl: Target type does not support messages")
		return fail(syscall.EINVAL)
	}
	reply, err := m.Message(args)
	if err != nil {
		return fail(errno.Of(err))
	}
	return reply, nil
}

// coreMessage runs a message for the device-mapper core (message_for_md):
// @cancel_deferred_remove, and the statistics' (see statsMessage).
func (r *Registry) coreMessage(d *Device, args []string) (string, syscall.Errno) {
	if strings.EqualFold(args[0], "@cancel_deferred_remove") {
		return "", r.cancelDeferredRemove(d, args)
	}
	if reply, ok, e := r.statsMessage(d, args); ok {
		return reply, e
	}
	r.klogf("ioctl: Unsupported message sent to DM core: %s", args[0])
	return "", syscall.EINVAL
}

// Lines returns a device's table (inactive or live) as `dmsetup table`
// (status=false) or `dmsetup status` (status=true) prints it. A device
// without that table has no lines.
func (r *Registry) Lines(name string, inactive, status bool) ([]Line, error) {
	if status {
		return r.LinesOf(name, inactive, StatusInfo)
	}
	return r.LinesOf(name, inactive, StatusTable)
}

// LinesOf returns a device's table (inactive or live) with each target's
// string of type typ, as `dmsetup table`, `status` or `measure` prints
// it. A device without that table has no lines.
func (r *Registry) LinesOf(name string, inactive bool, typ StatusType) ([]Line, error) {
	d, ok := r.Lookup(name)
	if !ok {
		return nil, r.ioctlErr("table", nil, name, syscall.ENXIO)
	}
	var t *Table
	var err error
	if inactive {
		if d.st.Inactive == nil {
			return nil, nil
		}
		t, err = d.inactiveTable()
	} else {
		if d.st.Live == nil {
			return nil, nil
		}
		t, err = d.liveTable()
	}
	if err != nil {
		return nil, err
	}
	return t.Lines(typ), nil
}

// Dep is a device a table uses: a mapped device (Mapped, Minor) or a file.
type Dep struct {
	Mapped bool
	Major  uint32
	Minor  uint32
	Path   string
}

// Deps lists the devices a device's live (or inactive) table uses, in the
// kernel's order: the most recently opened first.
func (r *Registry) Deps(name string, inactive bool) ([]Dep, error) {
	d, ok := r.Lookup(name)
	if !ok {
		return nil, r.ioctlErr("deps", nil, name, syscall.ENXIO)
	}
	spec := d.st.Live
	if inactive {
		spec = d.st.Inactive
	}
	if spec == nil {
		return nil, nil
	}
	out := make([]Dep, 0, len(spec.Deps))
	for i := len(spec.Deps) - 1; i >= 0; i-- {
		n := spec.Deps[i]
		if maj, min, ok := parseMajMin(n); ok {
			out = append(out, Dep{Mapped: true, Major: maj, Minor: min})
		} else {
			out = append(out, Dep{Path: n})
		}
	}
	return out, nil
}

// SetUUID gives a device without a uuid one (dmsetup rename --setuuid).
func (r *Registry) SetUUID(name, uuid string) error {
	return r.rename(name, uuid, true)
}

// rename is the kernel's dev_rename and dm_hash_rename, checks in their
// order and with their log lines: the new name (or uuid) must be a valid
// string, then unused, then the device must exist and, for a uuid, have
// none yet. A rename raises an event when the device has a live table.
func (r *Registry) rename(name, newValue string, uuid bool) error {
	fail := func(e syscall.Errno) error { return r.ioctlErr("rename", nil, name, e) }
	what, maxLen := "name", MaxNameLen
	if uuid {
		what, maxLen = "uuid", MaxUUIDLen
	}
	if newValue == "" || len(newValue) > maxLen {
		r.klogf("ioctl: Invalid new mapped device name or uuid string supplied.")
		return fail(syscall.EINVAL)
	}
	if !uuid && strings.Contains(newValue, "/") {
		r.klogf("ioctl: invalid device name")
		return fail(syscall.EINVAL)
	}
	for _, x := range r.devs {
		if uuid && x.st.UUID == newValue || !uuid && x.st.Name == newValue {
			r.klogf("ioctl: Unable to change %s on mapped device %s to one that already exists: %s", what, name, newValue)
			return fail(syscall.EBUSY)
		}
	}
	d, ok := r.Lookup(name)
	if !ok {
		to := newValue
		if uuid {
			to = "uuid " + newValue
		}
		r.klogf("ioctl: Unable to rename non-existent device, %s to %s", name, to)
		return fail(syscall.ENXIO)
	}
	if uuid && d.st.UUID != "" {
		r.klogf("ioctl: Unable to change uuid of mapped device %s to %s because uuid is already set to %s", name, newValue, d.st.UUID)
		return fail(syscall.EINVAL)
	}
	if uuid {
		d.st.UUID = newValue
	} else {
		d.st.Name = newValue
	}
	if d.st.Live != nil {
		d.raiseEvent()
	}
	return nil
}

// activateAll builds every live table, as they are in the kernel, where
// every live table holds its devices: a new table then meets the same
// conflicts (a metadata device already used by a pool) and finds the same
// shared objects (a reloaded pool's). A table that cannot be rebuilt stays
// down here, quietly: the command at hand reports only its own errors.
func (r *Registry) activateAll() {
	defer r.quiet()()
	r.ActivateAll()
}

// ActivateAll builds every live table now, for a process that owns the
// registry for long (serve): background work a table does while it is
// live in the kernel (a snapshot merge, a clone's hydration, a mirror's
// recovery) goes on without waiting for a command to need the device. A
// table that cannot be built stays down; the error names each such device
// and what stopped it (its constructor logs as in any other command).
func (r *Registry) ActivateAll() error {
	var errs []error
	for _, d := range r.Devices() {
		if d.st.Live == nil {
			continue
		}
		if _, err := d.liveTable(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

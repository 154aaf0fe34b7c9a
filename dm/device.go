package dm

import (
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Device is one mapped device.
//
// st (name, uuid, specs) and inactive are changed only by control
// operations, which the caller serialises. mu guards the I/O gate: live,
// suspended, noflush, closing and inflight; cond signals a resume, the
// registry's close, the end of in-flight I/O and of a noflush suspend, and
// a new event. event and openers are atomics.
type Device struct {
	reg      *Registry
	st       deviceState
	inactive *Table

	mu        sync.Mutex
	cond      *sync.Cond
	live      *Table
	suspended bool
	// noflush is set while a noflush suspend waits for in-flight I/O
	// (DMF_NOFLUSH_SUSPENDING).
	noflush  bool
	closing  bool // the registry is closing: I/O held by a suspend ends
	inflight int

	event   atomic.Uint32
	openers atomic.Int32

	// statsSet is the device's I/O statistics (nil until a first region),
	// set by control operations; stats publishes it to I/O while it holds
	// a region (see Table.startCount).
	statsSet *statsSet
	stats    atomic.Pointer[statsSet]
}

func newDevice(r *Registry, st deviceState) *Device {
	d := &Device{reg: r, st: st, suspended: st.Suspended}
	d.cond = sync.NewCond(&d.mu)
	d.event.Store(st.Event)
	d.restoreStats(st.Stats)
	d.st.Stats = nil
	return d
}

// Name is the device's name.
func (d *Device) Name() string { return d.st.Name }

// UUID is the device's uuid ("" if none).
func (d *Device) UUID() string { return d.st.UUID }

// Minor is the device's minor number.
func (d *Device) Minor() uint32 { return d.st.Minor }

// devName is "253:MINOR", how the kernel names the device in tables and logs.
func (d *Device) devName() string { return fmt.Sprintf("%d:%d", Major, d.st.Minor) }

// state is what the registry saves of d.
func (d *Device) state() deviceState {
	st := d.st
	d.mu.Lock()
	st.Suspended = d.suspended
	d.mu.Unlock()
	st.Event = d.event.Load()
	st.Stats = d.savedStats()
	return st
}

// uses reports whether the live or inactive table opened the device named name.
func (d *Device) uses(name string) bool {
	for _, x := range d.depNames() {
		if x == name {
			return true
		}
	}
	return false
}

// depNames lists the devices the live and inactive tables opened.
func (d *Device) depNames() []string {
	var out []string
	for _, t := range []*tableSpec{d.st.Live, d.st.Inactive} {
		if t != nil {
			out = append(out, t.Deps...)
		}
	}
	return out
}

// raiseEvent is dm_table_event: the event number moves and waiters wake.
func (d *Device) raiseEvent() {
	d.event.Add(1)
	d.mu.Lock()
	d.cond.Broadcast()
	d.mu.Unlock()
}

// EventNr is the device's event number.
func (d *Device) EventNr() uint32 { return d.event.Load() }

// Suspended reports whether the device is suspended.
func (d *Device) Suspended() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.suspended
}

// liveTable returns the live table, building it from the stored spec the
// first time this process needs it. A device without a live table gives
// ENXIO.
func (d *Device) liveTable() (*Table, error) {
	if t := d.current(); t != nil {
		return t, nil
	}
	if d.st.Live == nil {
		return nil, syscall.ENXIO
	}
	t, err := d.reg.build(d, d.st.Live.Targets, d.st.Live.readOnly(d.st.ReadOnly), true, false)
	if err != nil {
		return nil, fmt.Errorf("rebuilding the live table of %s: %w", d.st.Name, err)
	}
	d.mu.Lock()
	d.live = t
	d.mu.Unlock()
	return t, nil
}

// current returns the live table as built in this process, or nil.
func (d *Device) current() *Table {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.live
}

// inactiveTable returns the inactive table, built on first use.
func (d *Device) inactiveTable() (*Table, error) {
	if d.inactive != nil {
		return d.inactive, nil
	}
	if d.st.Inactive == nil {
		return nil, syscall.ENXIO
	}
	if d.st.Live != nil {
		// The kernel loaded the inactive table while the live one stood:
		// objects they share (a pool) come from the live one.
		d.liveTable()
	}
	t, err := d.reg.build(d, d.st.Inactive.Targets, d.st.Inactive.readOnly(d.st.ReadOnly), true, true)
	if err != nil {
		return nil, fmt.Errorf("rebuilding the inactive table of %s: %w", d.st.Name, err)
	}
	d.inactive = t
	return t, nil
}

// stopBackground stops the background work of the live table's targets
// (targets.BackgroundStopper), if this process built it.
func (d *Device) stopBackground() {
	if live := d.current(); live != nil {
		for _, e := range live.entries {
			if s, ok := e.target.(targets.BackgroundStopper); ok {
				s.StopBackground()
			}
		}
	}
}

// closeTables releases both constructed tables.
func (d *Device) closeTables() error {
	var first error
	if d.inactive != nil {
		if d.st.Inactive != nil {
			d.inactive.saveStates(d.st.Inactive, false)
		}
		first = d.inactive.close()
		d.inactive = nil
	}
	d.mu.Lock()
	live := d.live
	d.live = nil
	d.mu.Unlock()
	if live != nil {
		if d.st.Live != nil {
			live.saveStates(d.st.Live, true)
		}
		if err := live.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// destroyTables destroys both tables, the device being removed (see
// dropInactive for an inactive table this process has not built).
func (d *Device) destroyTables() error {
	first := d.dropInactive()
	d.mu.Lock()
	live := d.live
	d.live = nil
	d.mu.Unlock()
	if live != nil {
		if err := live.destroy(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// dropInactive destroys the inactive table, if there is one. A stored one
// this process has not built is built first when a type in it has work to
// do on destruction (targets.Type.Destroys): in the kernel it stood built
// since its load. If it cannot be built now, it is dropped unbuilt, and the
// kernel lines of the attempt are not shown.
func (d *Device) dropInactive() error {
	if d.inactive == nil && d.st.Inactive != nil && destroys(d.st.Inactive) {
		restore := d.reg.quiet()
		d.inactiveTable()
		restore()
	}
	t := d.inactive
	d.inactive = nil
	if t == nil {
		return nil
	}
	return t.destroy()
}

// destroys reports whether a stored table holds a type whose targets have
// work to do on destruction.
func destroys(spec *tableSpec) bool {
	for _, l := range spec.Targets {
		if typ, ok := targets.Lookup(l.Type); ok && typ.Destroys {
			return true
		}
	}
	return false
}

// LenSectors is the size of the live table (0 without one).
func (d *Device) LenSectors() uint64 {
	var n uint64
	if d.st.Live != nil {
		for _, t := range d.st.Live.Targets {
			n += t.Len
		}
	}
	return n
}

// Opened records an opener outside the registry (an NBD client); the
// returned release undoes it (calls after the first do nothing). Open
// devices cannot be removed, and a device marked for deferred removal goes
// when release drops its last opener: release is a control operation, which
// the caller serialises with the others.
func (d *Device) Opened() (release func()) {
	d.openers.Add(1)
	var once sync.Once
	return func() {
		once.Do(func() {
			if d.openers.Add(-1) == 0 {
				d.reg.removeDeferred()
			}
		})
	}
}

// openCount is the kernel's open count: the devices whose tables use d
// (each once, live and inactive alike) and the openers outside the registry.
func (d *Device) openCount() int {
	return len(d.reg.users(d)) + int(d.openers.Load())
}

// Info is what `dmsetup info` shows of a device.
type Info struct {
	Name, UUID       string
	Minor            uint32
	Suspended        bool
	ReadOnly         bool
	Live, Inactive   bool
	OpenCount        int
	EventNr          uint32
	Targets          int
	ReadAheadSectors uint64
	// Deferred is set while the device waits for its last opener to go
	// before it is removed (remove --deferred).
	Deferred bool
	// Disk is set once the kernel has the device's block device: it is
	// added when the first table is loaded, and stays.
	Disk bool
	// Node is set once the device has a node under /dev/mapper: libdm
	// makes it at the first resume that succeeds.
	Node bool
}

// Info returns d's info.
func (d *Device) Info() Info {
	in := Info{
		Name: d.st.Name, UUID: d.st.UUID, Minor: d.st.Minor, Suspended: d.Suspended(),
		ReadOnly: d.st.ReadOnly, Live: d.st.Live != nil, Inactive: d.st.Inactive != nil,
		OpenCount: d.openCount(), EventNr: d.event.Load(),
		ReadAheadSectors: d.st.readAhead(), Deferred: d.st.DeferredRemove,
		Disk: d.st.Typed, Node: d.st.Node,
	}
	if d.st.Live != nil {
		in.Targets = len(d.st.Live.Targets)
	}
	return in
}

// WaitEvent waits up to timeout for the event number to differ from nr and
// reports whether it does.
func (d *Device) WaitEvent(nr uint32, timeout time.Duration) bool {
	if d.event.Load() != nr {
		return true
	}
	timer := time.AfterFunc(timeout, func() {
		d.mu.Lock()
		d.cond.Broadcast()
		d.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(timeout)
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.event.Load() == nr && time.Now().Before(deadline) {
		d.cond.Wait()
	}
	return d.event.Load() != nr
}

// Package dm is the device-mapper core: mapped devices with live and inactive
// tables, the registry of devices and the references between them, the
// kernel's load/suspend/resume/remove/rename semantics, I/O through a table,
// and the state directory that keeps devices across processes.
package dm

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Major is the major number of mapped devices, as the kernel usually assigns it.
const Major = 253

// MaxNameLen and MaxUUIDLen are the longest device name and uuid, in
// bytes (the kernel's DM_NAME_LEN and DM_UUID_LEN less the NUL).
const (
	MaxNameLen = 127
	MaxUUIDLen = 128
)

// Registry is every mapped device of one state directory, owned by this
// process while it is open (an flock on the directory).
//
// Control operations (create, load, resume, remove, ...) are not safe for
// concurrent use: the caller runs one at a time. Device I/O may run
// concurrently with them and with itself.
type Registry struct {
	dir  string
	lock *os.File
	// klogMu guards klog: targets log from I/O paths too.
	klogMu sync.Mutex
	klog   io.Writer
	devs   map[uint32]*Device // by minor
	files  map[string]*targets.File
	loaded []byte
	// direct makes files opened from now on take aligned I/O with O_DIRECT.
	direct bool
	// building counts the tables being built right now (see activateUsers).
	building map[buildKey]int
}

// Open takes the state directory's lock (waiting for another process to let
// go of it) and loads its devices. Kernel log lines of every later operation
// go to klog.
func Open(dir string, klog io.Writer) (*Registry, error) {
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	doc, raw, err := readState(dir)
	if err != nil {
		lock.Close()
		return nil, err
	}
	r := &Registry{dir: dir, lock: lock, klog: klog, devs: map[uint32]*Device{}, files: map[string]*targets.File{}, loaded: raw, building: map[buildKey]int{}}
	for _, st := range doc.Devices {
		d := newDevice(r, st)
		r.devs[st.Minor] = d
	}
	return r, nil
}

// UseDirectIO makes every file and block device the registry opens from now
// on bypass the page cache for aligned I/O (O_DIRECT, as qemu's cache=none;
// unaligned I/O stays buffered). Call it before I/O starts: tables already
// built keep their files as they are.
func (r *Registry) UseDirectIO() { r.direct = true }

// Dir is the state directory.
func (r *Registry) Dir() string { return r.dir }

// klogf writes a kernel log line.
func (r *Registry) klogf(format string, args ...any) {
	r.printk(fmt.Sprintf("device-mapper: "+format, args...))
}

// printk writes one kernel log line as it is (targets.Context.Printk).
func (r *Registry) printk(line string) {
	r.klogMu.Lock()
	defer r.klogMu.Unlock()
	fmt.Fprintln(r.klog, line)
}

// quiet sends kernel log lines nowhere until the returned func restores them.
func (r *Registry) quiet() (restore func()) {
	r.klogMu.Lock()
	klog := r.klog
	r.klog = io.Discard
	r.klogMu.Unlock()
	return func() {
		r.klogMu.Lock()
		r.klog = klog
		r.klogMu.Unlock()
	}
}

// Close ends I/O held by suspended devices (with targets.ErrReleased),
// stops the live tables' background work (targets.BackgroundStopper),
// releases every constructed table (stateful targets commit), saves the
// registry and unlocks the directory.
func (r *Registry) Close() error {
	var first error
	for _, d := range r.devs {
		d.mu.Lock()
		d.closing = true
		d.cond.Broadcast()
		d.mu.Unlock()
	}
	order := r.topoOrder()
	for _, d := range order {
		d.stopBackground()
	}
	for _, d := range order {
		if err := d.closeTables(); err != nil && first == nil {
			first = fmt.Errorf("device %s: %w", d.st.Name, err)
		}
	}
	if err := r.Save(); err != nil && first == nil {
		first = err
	}
	for _, f := range r.files {
		f.Close()
	}
	r.lock.Close()
	return first
}

// Save writes the registry to the state directory if it changed.
func (r *Registry) Save() error {
	var doc stateDoc
	for _, d := range r.Devices() {
		doc.Devices = append(doc.Devices, d.state())
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	if string(b) == string(r.loaded) {
		return nil
	}
	if err := writeState(r.dir, b); err != nil {
		return fmt.Errorf("saving devices to %s: %w", r.dir, err)
	}
	r.loaded = b
	return nil
}

// Devices returns every device sorted by name.
func (r *Registry) Devices() []*Device {
	out := make([]*Device, 0, len(r.devs))
	for _, d := range r.devs {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].st.Name < out[j].st.Name })
	return out
}

// Lookup finds a device by name.
func (r *Registry) Lookup(name string) (*Device, bool) {
	for _, d := range r.devs {
		if d.st.Name == name {
			return d, true
		}
	}
	return nil, false
}

// topoOrder lists devices users first: a device comes before every device
// its tables use.
func (r *Registry) topoOrder() []*Device {
	var out []*Device
	seen := map[*Device]bool{}
	var visit func(d *Device)
	visit = func(d *Device) {
		if seen[d] {
			return
		}
		seen[d] = true
		for _, u := range r.users(d) {
			visit(u)
		}
		out = append(out, d)
	}
	for _, d := range r.Devices() {
		visit(d)
	}
	return out
}

// users returns the devices whose live or inactive table uses d.
func (r *Registry) users(d *Device) []*Device {
	var out []*Device
	name := d.devName()
	for _, u := range r.Devices() {
		if u != d && u.uses(name) {
			out = append(out, u)
		}
	}
	return out
}

// dependsOn reports whether d's tables reach target (directly or through
// other mapped devices).
func (r *Registry) dependsOn(d, target *Device) bool {
	seen := map[*Device]bool{}
	var walk func(x *Device) bool
	walk = func(x *Device) bool {
		if x == target {
			return true
		}
		if seen[x] {
			return false
		}
		seen[x] = true
		for _, name := range x.depNames() {
			if m, ok := r.byDevName(name); ok && walk(m) {
				return true
			}
		}
		return false
	}
	return walk(d)
}

// byDevName finds a mapped device by "253:MINOR".
func (r *Registry) byDevName(name string) (*Device, bool) {
	maj, min, ok := parseMajMin(name)
	if !ok || maj != Major {
		return nil, false
	}
	d, ok := r.devs[min]
	return d, ok
}

func parseMajMin(s string) (maj, min uint32, ok bool) {
	a, b, found := strings.Cut(s, ":")
	if !found {
		return 0, 0, false
	}
	x, err1 := strconv.ParseUint(a, 10, 32)
	y, err2 := strconv.ParseUint(b, 10, 32)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return uint32(x), uint32(y), true
}

// resolve opens a table's device argument for device d (dm_get_device):
// /dev/mapper/NAME or 253:MINOR for a mapped device, else a file or block
// device path. Missing paths give ENODEV, unknown device numbers ENXIO, a
// reference back to d itself (directly or through others) EINVAL.
func (r *Registry) resolve(d *Device, path string) (targets.Dev, error) {
	var m *Device
	if name, ok := strings.CutPrefix(path, "/dev/mapper/"); ok {
		x, found := r.Lookup(name)
		if !found {
			return nil, fmt.Errorf("%s: %w", path, syscall.ENODEV)
		}
		m = x
	} else if _, _, ok := parseMajMin(path); ok {
		x, found := r.byDevName(path)
		if !found {
			return nil, fmt.Errorf("%s: %w", path, syscall.ENXIO)
		}
		m = x
	}
	if m != nil {
		if r.dependsOn(m, d) {
			return nil, fmt.Errorf("%s: a table cannot use its own device: %w", path, syscall.EINVAL)
		}
		if _, err := m.liveTable(); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return &mapped{d: m}, nil
	}
	f, err := targets.OpenFile(path)
	if err != nil {
		return nil, err
	}
	if old, ok := r.files[f.Name()]; ok {
		f.Close()
		return old, nil
	}
	if r.direct {
		if err := f.UseDirect(); err != nil {
			f.Close()
			r.klogf("%v", err)
			return nil, err
		}
	}
	r.files[f.Name()] = f
	return f, nil
}

// lowestFreeMinor is the minor the kernel gives a new device.
func (r *Registry) lowestFreeMinor() uint32 {
	for m := uint32(0); ; m++ {
		if _, used := r.devs[m]; !used {
			return m
		}
	}
}

// Commit commits every stateful target of every built live table (the
// kernel's periodic commit, run by a long-running server).
func (r *Registry) Commit() error {
	var first error
	for _, d := range r.Devices() {
		t := d.current()
		if t == nil {
			continue
		}
		for _, e := range t.entries {
			if c, ok := e.target.(targets.Committer); ok {
				if err := c.Commit(); err != nil && first == nil {
					first = fmt.Errorf("device %s: %w", d.st.Name, err)
				}
			}
		}
	}
	return first
}

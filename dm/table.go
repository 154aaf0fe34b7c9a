package dm

import (
	"sort"
	"sync/atomic"
	"syscall"

	"github.com/gdmsetup/gdmsetup/errno"
	"github.com/gdmsetup/gdmsetup/targets"
)

// Table is a constructed table: its targets in sector order. It is immutable
// once built; the targets inside guard their own state.
type Table struct {
	entries    []entry
	lenSectors uint64
	spec       tableSpec
	readOnly   bool
	// discards: every target takes discards, decided when the table is
	// built, as the kernel stacks a device's discard limit at load
	discards bool
	// writeCache: a target takes flush bios (is no targets.NoFlushBios),
	// so the device has a write cache and FUA writes keep REQ_FUA
	writeCache bool
	// waiters: the targets, and the devices under them, that are
	// targets.Waiter, collected when the table is built (see Device.MayWait)
	waiters []targets.Waiter
	// logicalBlockBytes is the table's logical block size, stacked when it
	// is built (see limits)
	logicalBlockBytes int64
	// stats is the device's published statistics (see Table.count)
	stats *atomic.Pointer[statsSet]
}

type entry struct {
	start, len   uint64 // sectors
	typ          *targets.Type
	target       targets.Target
	maxIOSectors uint64 // 0 = no limit
}

// LenSectors is the device size the table gives.
func (t *Table) LenSectors() uint64 { return t.lenSectors }

// Line is one target of a table as `dmsetup table` and `status` print it.
type Line struct {
	Start, Len uint64
	Type       string
	Params     string
}

// Lines returns each target's line with its string of type typ.
func (t *Table) Lines(typ StatusType) []Line {
	out := make([]Line, len(t.entries))
	for i, e := range t.entries {
		out[i] = Line{Start: e.start, Len: e.len, Type: e.typ.Name, Params: typ.of(e.target)}
	}
	return out
}

// find returns the index of the target holding sector (the table covers it).
func (t *Table) find(sector uint64) int {
	return sort.Search(len(t.entries), func(i int) bool {
		return t.entries[i].start+t.entries[i].len > sector
	})
}

// close releases every target (thin-pool and clone commit here).
func (t *Table) close() error {
	var first error
	for i := len(t.entries) - 1; i >= 0; i-- {
		if c, ok := t.entries[i].target.(targets.Closer); ok {
			if err := c.Close(); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

// destroy is dm_table_destroy: each target's dtr (targets.Destroyer) in
// table order, then close. The table is gone for good, not only released by
// this process.
func (t *Table) destroy() error {
	for _, e := range t.entries {
		if x, ok := e.target.(targets.Destroyer); ok {
			x.Destroy()
		}
	}
	return t.close()
}

// build constructs a table for d from lines, with the kernel's checks and log
// lines (dm_table_add_target). On failure every target built so far is
// closed and the error carries the errno user space sees.
func (r *Registry) build(d *Device, lines []targetSpec, readOnly, restored, inactive bool) (*Table, error) {
	t := &Table{readOnly: readOnly, discards: true, stats: &d.stats}
	t.spec.Mode = "rw"
	if readOnly {
		t.spec.Mode = "ro"
	}
	key := buildKey{d, tableKind(restored, inactive)}
	r.building[key]++
	defer func() { r.building[key]-- }()
	fail := func(err error) (*Table, error) {
		t.destroy()
		r.klogf("ioctl: error adding target to table")
		return nil, err
	}
	var singleton, immutable *targets.Type
	for _, l := range lines {
		if singleton != nil {
			r.klogf("table: %s: target type %s must appear alone in table", d.devName(), singleton.Name)
			return fail(syscall.EINVAL)
		}
		if l.Len == 0 {
			r.klogf("table: %s: zero-length target", d.devName())
			return fail(syscall.EINVAL)
		}
		typ, ok := targets.Lookup(l.Type)
		if !ok {
			r.klogf("table: %s: %s: unknown target type", d.devName(), l.Type)
			return fail(syscall.EINVAL)
		}
		ctrFail := func(msg string, e syscall.Errno) (*Table, error) {
			r.klogf("table: %s: %s: %s (%s)", d.devName(), l.Type, msg, errno.Name(e))
			return fail(e)
		}
		if typ.Singleton {
			if len(t.entries) > 0 {
				return ctrFail("singleton target type must appear alone in table", syscall.EINVAL)
			}
			singleton = typ
		}
		if immutable != nil && immutable != typ || immutable == nil && typ.Immutable && len(t.entries) > 0 {
			return ctrFail("immutable target type cannot be mixed with other target types", syscall.EINVAL)
		}
		if typ.Immutable {
			immutable = typ
		}
		if l.Start != t.lenSectors {
			return ctrFail("Gap in table", syscall.EINVAL)
		}
		if l.Start+l.Len < l.Start || l.Start+l.Len > maxDeviceSectors {
			return ctrFail("too large device", syscall.EINVAL)
		}
		op := &opener{r: r, d: d, table: &t.spec}
		ctx := &targets.Context{
			Begin: l.Start, Len: l.Len, DevName: d.devName(), ReadOnly: readOnly,
			Open: op.open, Logf: r.klogf, Printk: r.printk, Event: d.raiseEvent, NoflushSuspending: d.noflushSuspending, Restored: restored, Saved: l.Saved,
			Suspended: restored && d.st.Suspended, Inactive: inactive,
			ActivateUsers: func(dev targets.Dev) error { return r.activateUsers(dev.Name()) },
		}
		tg, err := typ.New(ctx, l.Args)
		if err != nil {
			ce, ok := err.(*targets.CtrError)
			if !ok {
				ce = &targets.CtrError{Msg: err.Error(), Errno: errno.Of(err)}
			}
			return ctrFail(ce.Msg, ce.Errno)
		}
		e := entry{start: l.Start, len: l.Len, typ: typ, target: tg}
		if m, ok := tg.(targets.MaxIOer); ok {
			e.maxIOSectors = m.MaxIOSectors()
		}
		t.entries = append(t.entries, e)
		t.discards = t.discards && targets.TargetSupportsDiscards(tg)
		if _, ok := tg.(targets.NoFlushBios); !ok {
			t.writeCache = true
		}
		t.addWaiters(tg)
		t.lenSectors += l.Len
		t.spec.Targets = append(t.spec.Targets, targetSpec{Start: l.Start, Len: l.Len, Type: l.Type, Args: op.canonical(l.Args), Saved: l.Saved})
	}
	t.logicalBlockBytes = t.limits().logicalBlockBytes
	return t, nil
}

// addWaiters adds tg and the devices it maps onto to t.waiters where they
// are targets.Waiter.
func (t *Table) addWaiters(tg targets.Target) {
	if w, ok := tg.(targets.Waiter); ok {
		t.waiters = append(t.waiters, w)
	}
	if it, ok := tg.(targets.AreaIterator); ok {
		for _, a := range it.Areas() {
			if w, ok := a.Dev.(targets.Waiter); ok {
				t.waiters = append(t.waiters, w)
			}
		}
	}
}

// saveStates records each target's in-memory state in the table's spec
// (targets.StateSaver), for the next process that rebuilds it. Of an
// inactive table (live false) only the types that keep state before going
// live (targets.Type.SavesInactive) save it.
func (t *Table) saveStates(spec *tableSpec, live bool) {
	for i, e := range t.entries {
		if s, ok := e.target.(targets.StateSaver); ok && i < len(spec.Targets) && (live || e.typ.SavesInactive) {
			spec.Targets[i].Saved = s.SaveState()
		}
	}
}

// maxDeviceSectors is the kernel's limit on a device size (LLONG_MAX >> 9).
const maxDeviceSectors = (1<<63 - 1) >> 9

// opener resolves one table's device arguments and remembers what it opened,
// in order, for deps and for the stored table.
type opener struct {
	r       *Registry
	d       *Device
	table   *tableSpec
	renamed map[string]string
}

func (o *opener) open(path string) (targets.Dev, error) {
	dev, err := o.r.resolve(o.d, path)
	if err != nil {
		return nil, err
	}
	name := dev.Name()
	if o.renamed == nil {
		o.renamed = map[string]string{}
	}
	o.renamed[path] = name
	for _, x := range o.table.Deps {
		if x == name {
			return dev, nil
		}
	}
	o.table.Deps = append(o.table.Deps, name)
	return dev, nil
}

// canonical rewrites the device arguments a constructor opened to the names
// they resolved to.
func (o *opener) canonical(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if n, ok := o.renamed[a]; ok {
			out[i] = n
		} else {
			out[i] = a
		}
	}
	return out
}

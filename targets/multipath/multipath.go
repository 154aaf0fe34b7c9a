// Package multipath is the multipath target (drivers/md/dm-mpath.c, v1.14.0
// of Linux 6.1, with the round-robin, queue-length and service-time path
// selectors):
//
//	multipath <#features> <features>... <#hw_handler args> [<hw_handler> <args>...]
//	  <#priority groups> <initial group>
//	  (<selector> <#selector args> <args>... <#paths> <#path args> (<dev> <path args>...)...)...
//
// maps the whole device onto one of several paths to the same storage.
// Paths are grouped in priority groups; the group in use (the initial one,
// then the first with a usable path) has its selector choose a path for
// each I/O. An I/O that fails on a path with a path error fails the path
// (F in the status, its fail count up, an event) and is tried again on
// another. With no usable path left, I/O fails with EIO, or with
// queue_if_no_path it waits until a path is reinstated or queueing is
// turned off (by message, or by a suspend). Messages fail and reinstate
// paths, disable, enable and switch groups. Path states, fail counts and
// the selectors' orders live in memory in the kernel; a later process
// takes them back from SaveState.
//
// I/O is bio-based here whatever the queue mode; the table and status keep
// the mode the table asked for (request-based unless queue_mode bio). A
// hardware handler needs a SCSI device: a path given with one is refused
// as the kernel refuses a disk that is not SCSI.
package multipath

import (
	"fmt"
	"strings"
	"sync"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Type is the multipath target's registration: alone in its table, and a
// reload cannot replace it with another type.
var Type = targets.Type{Name: "multipath", Version: [3]int{1, 14, 0}, New: New, Singleton: true, Immutable: true}

// msgPrefix starts dm-mpath.c's own log lines (its DM_MSG_PREFIX).
const msgPrefix = "multipath: "

// pgInitDelayDefault is DM_PG_INIT_DELAY_DEFAULT: no pg_init_delay_msecs given.
const pgInitDelayDefault = ^uint32(0)

// pgpath is one path (struct pgpath) with what its group's selector keeps
// about it (the selectors' struct path_info).
type pgpath struct {
	dev       targets.Dev
	pg        *priorityGroup
	active    bool
	failCount uint32
	// repeatCount and relThroughput are the path arguments the selector
	// took; qlen (queue-length) and inFlightBytes (service-time) count the
	// I/O in flight on the path, as the kernel's atomic_t ints.
	repeatCount, relThroughput uint32
	qlen, inFlightBytes        int32
}

// priorityGroup is one priority group (struct priority_group), numbered
// from 1 in table order.
type priorityGroup struct {
	num      int
	selType  *selectorType
	sel      selector
	paths    []*pgpath
	bypassed bool
}

// Multipath is one multipath target (struct multipath).
//
// Concurrency: mu guards every field below it, the groups' and paths'
// state and the selectors (the kernel's m->lock and each selector's
// lock); cond (on mu) wakes I/O queued for want of a path when kick
// moves or the target is released. Path I/O is done without mu.
type Multipath struct {
	ctx              *targets.Context
	lenSectors       uint64
	bioBased         bool
	hwHandler        string
	pgInitRetries    uint32
	pgInitDelayMsecs uint32
	retainHWHandler  bool

	mu            sync.Mutex
	cond          *sync.Cond
	pgs           []*priorityGroup
	currentPgpath *pgpath
	currentPg     *priorityGroup
	nextPg        *priorityGroup
	nrValidPaths  int
	// queueIO, queueIfNoPath and savedQueueIfNoPath are the flags
	// MPATHF_QUEUE_IO, MPATHF_QUEUE_IF_NO_PATH, MPATHF_SAVED_QUEUE_IF_NO_PATH
	queueIO, queueIfNoPath, savedQueueIfNoPath bool
	suspended                                  bool   // dm_suspended: messages are refused
	kick                                       uint64 // process_queued_io_list: queued I/O maps again when it moves
	released                                   bool   // the table is destroyed or closed: queued I/O ends
	events                                     int    // events to raise at unlock
}

// Status is multipath_status's STATUSTYPE_INFO: the queue_io flag and
// pg_init count, no handler status, the groups (D disabled, A active, E
// enabled) with each path's state, fail count and selector status.
func (m *Multipath) Status() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "2 %d 0 0 %d %d ", b2i(m.queueIO), len(m.pgs), m.pgNum())
	for _, pg := range m.pgs {
		fmt.Fprintf(&b, "%c 0 %d %d ", m.pgState(pg), len(pg.paths), pg.selType.infoArgs)
		for _, p := range pg.paths {
			fmt.Fprintf(&b, "%s %c %d %s", p.dev.Name(), p.state(), p.failCount, pg.sel.pathStatus(p, false))
		}
	}
	return b.String()
}

// Table is STATUSTYPE_TABLE: the features in force (queue_if_no_path as
// it is now), the handler, the groups with their selectors and each
// path's selector arguments as the selector took them.
func (m *Multipath) Table() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var feats []string
	if m.queueIfNoPath {
		feats = append(feats, "queue_if_no_path")
	}
	if m.pgInitRetries > 0 {
		feats = append(feats, "pg_init_retries", fmt.Sprint(m.pgInitRetries))
	}
	if m.pgInitDelayMsecs != pgInitDelayDefault {
		feats = append(feats, "pg_init_delay_msecs", fmt.Sprint(m.pgInitDelayMsecs))
	}
	if m.retainHWHandler {
		feats = append(feats, "retain_attached_hw_handler")
	}
	if m.bioBased {
		feats = append(feats, "queue_mode", "bio")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d ", len(feats))
	for _, f := range feats {
		b.WriteString(f + " ")
	}
	if m.hwHandler == "" {
		b.WriteString("0 ")
	} else {
		fmt.Fprintf(&b, "1 %s ", m.hwHandler)
	}
	fmt.Fprintf(&b, "%d %d ", len(m.pgs), m.pgNum())
	for _, pg := range m.pgs {
		fmt.Fprintf(&b, "%s 0 %d %d ", pg.selType.name, len(pg.paths), pg.selType.tableArgs)
		for _, p := range pg.paths {
			fmt.Fprintf(&b, "%s %s", p.dev.Name(), pg.sel.pathStatus(p, true))
		}
	}
	return b.String()
}

// pgNum is the group number the status gives: the group to switch to, else
// the current one, else 1 (0 without groups). mu held.
func (m *Multipath) pgNum() int {
	switch {
	case m.nextPg != nil:
		return m.nextPg.num
	case m.currentPg != nil:
		return m.currentPg.num
	case len(m.pgs) > 0:
		return 1
	}
	return 0
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Areas is multipath_iterate_devices: every path over the target's length.
func (m *Multipath) Areas() []targets.Area {
	var out []targets.Area
	for _, pg := range m.pgs {
		for _, p := range pg.paths {
			out = append(out, targets.Area{Dev: p.dev, LenSectors: m.lenSectors})
		}
	}
	return out
}

// RequestBased is the table's type (dm_table_set_type in the
// constructor): request-based unless queue_mode bio. The core then takes
// only disks and request-based mapped devices as paths.
func (m *Multipath) RequestBased() bool { return !m.bioBased }

// MayWait is targets.Waiter: with queue_if_no_path set, I/O may wait for a
// path as long as none is reinstated.
func (m *Multipath) MayWait() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.queueIfNoPath || m.savedQueueIfNoPath
}

// event is trigger_event: the device's event is raised by unlock, outside
// mu. mu held.
func (m *Multipath) event() { m.events++ }

// unlock releases mu, then raises the events counted under it.
func (m *Multipath) unlock() {
	n := m.events
	m.events = 0
	m.mu.Unlock()
	for ; n > 0 && m.ctx.Event != nil; n-- {
		m.ctx.Event()
	}
}

// failPath is fail_path: an active path is taken out of use (its
// selector told, its fail count up), the kernel's warning logged and an
// event raised. mu held.
func (m *Multipath) failPath(p *pgpath) {
	if !p.active {
		return
	}
	m.ctx.Logf(msgPrefix+"%s: Failing path %s.", m.ctx.DevName, p.dev.Name())
	p.pg.sel.failPath(p)
	p.active = false
	p.failCount++
	m.nrValidPaths--
	if p == m.currentPgpath {
		m.currentPgpath = nil
	}
	m.event()
}

// reinstatePath is reinstate_path: a failed path is back in use; when it
// is the only one, I/O queued for want of a path maps again. mu held.
func (m *Multipath) reinstatePath(p *pgpath) {
	if p.active {
		return
	}
	m.ctx.Logf(msgPrefix+"%s: Reinstating path %s.", m.ctx.DevName, p.dev.Name())
	p.pg.sel.reinstatePath(p)
	p.active = true
	m.nrValidPaths++
	if m.nrValidPaths == 1 {
		m.currentPgpath = nil
		m.kickQueued()
	}
	m.event()
}

// setQueueIfNoPath is queue_if_no_path(): saveOld keeps the old setting
// for the resume (a suspend), otherwise turning queueing off forgets a
// saved one (fail_if_no_path). Turning it off lets queued I/O map again.
// mu held.
func (m *Multipath) setQueueIfNoPath(queue, saveOld bool) {
	if saveOld {
		if !m.queueIfNoPath && m.savedQueueIfNoPath {
			m.ctx.Logf(msgPrefix+"%s: QIFNP disabled but saved as enabled, saving again loses state, not saving!", m.ctx.DevName)
		} else {
			m.savedQueueIfNoPath = m.queueIfNoPath
		}
	} else if !queue {
		m.savedQueueIfNoPath = false
	}
	m.queueIfNoPath = queue
	if !queue {
		m.kickQueued()
	}
}

// kickQueued is process_queued_io_list: I/O waiting for a path maps again.
// mu held.
func (m *Multipath) kickQueued() {
	m.kick++
	m.cond.Broadcast()
}

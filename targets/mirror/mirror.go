// Package mirror is the mirror target (drivers/md/dm-raid1.c, v1.14.0 of
// Linux 6.1, with its dirty logs from dm-log.c and region hash from
// dm-region-hash.c):
//
//	mirror <log_type> <#log_args> <log_args>... <#mirrors> (<dev> <offset>)... [<#features> <features>...]
//
// keeps 2 to 9 legs holding the same data. The device is cut in regions
// (the log's region size, a power of 2); the dirty log records per region
// whether the legs agree. Writes go to every leg of a region in sync, and
// only to the default leg (the first that has not failed) of one out of
// sync; reads come from the default leg. Regions out of sync are recovered
// in the background, one at a time, by copying the default leg to the
// others; the device's event is raised once every region is in sync. The
// `core` log keeps its bits in memory (carried to the next process by
// SaveState); the `disk` log keeps the clean bits on a device in the
// kernel's format. Features: handle_errors (a failed leg is taken out and
// an event raised) and keep_log (with it, writes go on after a leg failed).
package mirror

import (
	"fmt"
	"strings"
	"sync"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Type is the mirror target's registration.
var Type = targets.Type{Name: "mirror", Version: [3]int{1, 14, 0}, New: New}

// maxMirrors is MAX_NR_MIRRORS: kcopyd's most destinations plus the source.
const maxMirrors = 8 + 1

// The kind of error a leg had (enum dm_raid1_error): bits of leg.errorType.
const (
	writeError = 1 << iota
	flushError
	syncError
	readError
)

// msgPrefix starts dm-raid1.c's own log lines (its DM_MSG_PREFIX).
const msgPrefix = "raid1: "

// leg is one mirror device (struct mirror).
type leg struct {
	dev         targets.Dev
	startSector uint64
	errorCount  uint64
	errorType   int
}

// status is device_status_char: the most severe error seen on the leg.
func (l *leg) status() byte {
	switch {
	case l.errorCount == 0:
		return 'A'
	case l.errorType&flushError != 0:
		return 'F'
	case l.errorType&writeError != 0:
		return 'D'
	case l.errorType&syncError != 0:
		return 'S'
	case l.errorType&readError != 0:
		return 'R'
	}
	return 'U'
}

// Mirror is one mirror set (struct mirror_set).
//
// Concurrency: mu guards every field below it (the legs' error state, the
// default leg, the flags, the region hash and the dirty log, whose disk
// I/O is done under it as the kernel's single kmirrord thread does it);
// cond (on mu) wakes writes waiting for a region's recovery, recovery
// waiting for a region's writes, and the recovery worker. Leg data I/O is
// done without mu.
type Mirror struct {
	ctx                   *targets.Context
	lenSectors            uint64
	regionShift           uint
	nrRegions             uint64
	handleErrors, keepLog bool

	mu         sync.Mutex
	cond       *sync.Cond
	legs       []*leg
	defaultLeg int
	inSync     bool
	logFailure bool
	legFailure bool
	// flushFailure is the region hash's flush_failure: a flush of the
	// legs failed, so no region written since is known in sync
	flushFailure bool
	log          *dirtyLog
	regions      map[uint64]*region
	live         bool          // the table is live: events reach the device
	suspended    bool          // presuspended: writes are no longer held
	release      chan struct{} // closed when held writes are to fail (suspend, close)
	events       int           // events to raise at unlock
	workerDone   chan struct{} // closed when the recovery worker ends; nil if none runs
	stopWorker   bool          // the worker is to end
	idle         bool          // the worker has no region to recover
}

// Status is mirror_status's STATUSTYPE_INFO: the legs, the regions in
// sync, one health character per leg, then the log's status.
func (m *Mirror) Status() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%d ", len(m.legs))
	health := make([]byte, len(m.legs))
	for i, l := range m.legs {
		fmt.Fprintf(&b, "%s ", l.dev.Name())
		health[i] = l.status()
	}
	fmt.Fprintf(&b, "%d/%d 1 %s %s", m.log.syncCount, m.nrRegions, health, m.log.status())
	return b.String()
}

// Table is STATUSTYPE_TABLE: the log's canonical arguments, the legs, and
// the features when there are any.
func (m *Mirror) Table() string {
	var b strings.Builder
	b.WriteString(m.log.table())
	fmt.Fprintf(&b, "%d", len(m.legs))
	for _, l := range m.legs {
		fmt.Fprintf(&b, " %s %d", l.dev.Name(), l.startSector)
	}
	var feats []string
	if m.handleErrors {
		feats = append(feats, "handle_errors")
	}
	if m.keepLog {
		feats = append(feats, "keep_log")
	}
	if len(feats) > 0 {
		fmt.Fprintf(&b, " %d %s", len(feats), strings.Join(feats, " "))
	}
	return b.String()
}

// MaxIOSectors is the region size: no I/O crosses a region.
func (m *Mirror) MaxIOSectors() uint64 { return uint64(m.log.regionSectors) }

// Areas is mirror_iterate_devices: each leg from its offset, the target's
// length (and not the disk log's device).
func (m *Mirror) Areas() []targets.Area {
	out := make([]targets.Area, len(m.legs))
	for i, l := range m.legs {
		out[i] = targets.Area{Dev: l.dev, StartSector: l.startSector, LenSectors: m.lenSectors}
	}
	return out
}

// event raises the device's event when the table is live (dm_table_event
// reaches the device only once the table is bound); it is raised by
// unlock, outside mu. mu held.
func (m *Mirror) event() {
	if m.live {
		m.events++
	}
}

// unlock releases mu, then raises the events counted under it.
func (m *Mirror) unlock() {
	n := m.events
	m.events = 0
	m.mu.Unlock()
	for ; n > 0 && m.ctx.Event != nil; n-- {
		m.ctx.Event()
	}
}

// failLeg is fail_mirror: the leg's error is counted and its kind
// recorded; the first error of a kind, with handle_errors, raises an
// event, and on the default leg moves the default to the first leg
// without errors (unless the set is out of sync without keep_log: reads
// may then fail rather than return stale data). mu held.
func (m *Mirror) failLeg(i int, kind int) {
	l := m.legs[i]
	m.legFailure = true
	l.errorCount++
	if l.errorType&kind != 0 {
		return
	}
	l.errorType |= kind
	if !m.handleErrors {
		return
	}
	if i == m.defaultLeg {
		if !m.inSync && !m.keepLog {
			m.ctx.Logf(msgPrefix+"Primary mirror (%s) failed while out-of-sync: Reads may fail.", l.dev.Name())
		} else if v := m.validLeg(); v >= 0 {
			m.defaultLeg = v
		} else {
			m.ctx.Logf(msgPrefix + "All sides of mirror have failed.")
		}
	}
	m.event()
}

// validLeg is get_valid_mirror: the first leg without errors, -1 if none.
func (m *Mirror) validLeg() int {
	for i, l := range m.legs {
		if l.errorCount == 0 {
			return i
		}
	}
	return -1
}

// resetFlags is reset_ms_flags: every leg's errors forgotten.
func (m *Mirror) resetFlags() {
	m.legFailure = false
	for _, l := range m.legs {
		l.errorCount, l.errorType = 0, 0
	}
}

// flushLegs is mirror_flush, the disk log's callback before it records
// regions clean: every leg flushed; a leg that fails has a flush error.
// mu held.
func (m *Mirror) flushLegs() error {
	errs := m.eachLeg(func(l *leg) error { return l.dev.Flush() })
	var first error
	for i, err := range errs {
		if err != nil {
			m.failLeg(i, flushError)
			if first == nil {
				first = err
			}
		}
	}
	return first
}

// eachLeg runs do on every leg at once and returns the legs' errors.
func (m *Mirror) eachLeg(do func(*leg) error) []error {
	errs := make([]error, len(m.legs))
	var wg sync.WaitGroup
	for i, l := range m.legs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = do(l)
		}()
	}
	wg.Wait()
	return errs
}

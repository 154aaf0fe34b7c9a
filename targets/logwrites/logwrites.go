// Package logwrites is the log-writes target (drivers/md/dm-log-writes.c,
// v1.1.0 of Linux 6.1): `<dev> <log_dev>` maps one to one onto dev and
// records every write, flush and discard sent to it, and marks sent as
// messages, in a log on log_dev that a test can replay to any point
// (xfstests' replay-log reads it). The log's format is in format.go.
//
// As in the kernel, a write or discard is logged only once a flush sent
// after it completed has completed (then in the order they completed, the
// flush's entry last); FUA writes and marks are logged at once, and the
// super block is rewritten after each. Destroying the table logs what is still unflushed
// and a last mark, "dm-log-writes-end".
package logwrites

import (
	"fmt"
	"sync"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Type is the log-writes target's registration: its dtr writes to the log
// (targets.Destroyer).
var Type = targets.Type{Name: "log-writes", Version: [3]int{1, 1, 0}, New: New, Destroys: true}

// endMark is the mark the destructor logs.
const endMark = "dm-log-writes-end"

// LogWrites maps onto dev and logs onto logdev.
//
// mu guards the log's state (loggedEntries, nextSector, enabled, unflushed)
// and is held while entries are written to logdev, as the kernel's one
// logging thread writes them: an entry's position is taken and its sectors
// written under one hold, so entries land whole, in the order they were
// logged, and the super never goes back to an older count. I/O to dev is
// done without it; a write joins unflushed under mu when it completes.
type LogWrites struct {
	dev, logdev targets.Dev
	// beginSector is the target's start in its table: the sectors of dev
	// written and logged are the mapped device's own, not the target's
	// (log_writes_map keeps bi_sector as it comes, as no other target
	// does), so a log-writes line that does not start the table maps its
	// sectors from beginSector on.
	beginSector uint64
	lenSectors  uint64
	logf        func(format string, args ...any)
	// devDiscards is lc->device_supports_discard: whether discards are
	// passed down to dev (they are logged either way).
	devDiscards bool

	mu sync.Mutex
	logState
	// unflushed are the writes and discards completed since the last flush
	// was sent, in completion order, not logged yet.
	unflushed []*block
}

// logState is what the kernel keeps of the log while the table lives.
type logState struct {
	// loggedEntries counts the entries logged (lc->logged_entries).
	loggedEntries uint64
	// nextSector is where the next entry goes (lc->next_sector).
	nextSector uint64
	// endSector is logdev's size in sectors when the table was built
	// (lc->end_sector); an entry that would reach it stops the logging.
	endSector uint64
	// enabled is lc->logging_enabled: cleared for good when the log
	// device is full or a write to it fails.
	enabled bool
}

// block is one entry to log (struct pending_block).
type block struct {
	flags      uint64
	sector     uint64 // of dev, in log sectors
	lenSectors uint64 // likewise
	// data is a write's payload (a copy) or a mark's text.
	data []byte
}

// New is log_writes_ctr: `<dev> <log_dev>`, words after them ignored. A
// table rebuilt in a later process takes up the log where the last one
// left it (Context.Saved).
func New(ctx *targets.Context, args []string) (targets.Target, error) {
	if len(args) < 2 {
		return nil, targets.Invalid("Invalid argument count")
	}
	dev, err := ctx.Open(args[0])
	if err != nil {
		return nil, targets.Errorf(targets.OpenErrno(err), "Device lookup failed")
	}
	logdev, err := ctx.Open(args[1])
	if err != nil {
		return nil, targets.Errorf(targets.OpenErrno(err), "Log device lookup failed")
	}
	l := &LogWrites{
		dev: dev, logdev: logdev, beginSector: ctx.Begin, lenSectors: ctx.Len, logf: ctx.Logf,
		devDiscards: targets.DevSupportsDiscards(dev),
		logState: logState{
			nextSector: entrySectors,
			endSector:  uint64(logdev.SizeBytes()) / targets.SectorSize,
			enabled:    true,
		},
	}
	if ctx.Restored && ctx.Saved != "" {
		if err := l.restore(ctx.Saved); err != nil {
			return nil, targets.Invalid(fmt.Sprintf("saved state of the log on %s: %v", logdev.Name(), err))
		}
	}
	return l, nil
}

// Destroy is log_writes_dtr: what is still unflushed is logged, then the
// end mark (which rewrites the super).
func (l *LogWrites) Destroy() {
	l.mu.Lock()
	defer l.mu.Unlock()
	pending := l.unflushed
	l.unflushed = nil
	l.logBlocks(append(pending, markBlock(endMark)))
}

// Status is "<logged entries> <highest sector used>", then
// " logging_disabled" once logging stopped.
func (l *LogWrites) Status() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := fmt.Sprintf("%d %d", l.loggedEntries, l.nextSector-1)
	if !l.enabled {
		s += " logging_disabled"
	}
	return s
}

// Table is "<dev> <log_dev>".
func (l *LogWrites) Table() string { return fmt.Sprintf("%s %s", l.dev.Name(), l.logdev.Name()) }

// Areas is the whole of dev from sector 0 (the log device is not checked,
// as log_writes_iterate_devices leaves it out).
func (l *LogWrites) Areas() []targets.Area {
	return []targets.Area{{Dev: l.dev, StartSector: 0, LenSectors: l.lenSectors}}
}

// SupportsDiscards is true: discards are logged even when dev takes none.
func (l *LogWrites) SupportsDiscards() bool { return true }

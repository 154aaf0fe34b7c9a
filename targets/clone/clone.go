// Package clone is the dm-clone target (drivers/md/dm-clone-target.c): a
// device that reads unhydrated regions from a read-only source and copies
// them, in the background and on write, to a destination, keeping which
// regions are hydrated in the kernel's clone metadata (superblock and
// dm-bitset) so the kernel and gdmsetup can continue each other's work.
package clone

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Type is the clone target's registration.
var Type = targets.Type{Name: "clone", Version: [3]int{1, 0, 0}, New: New}

// Clone is one clone table line.
//
// Concurrency: mu protects the in-core hydration state (bitmap, nrHydrated,
// dirty, busy, inFlight, offset), the settings (cur), suspended,
// lastCommit, the worker flags (running, stop), owner, fresh and failed;
// cond (on mu) signals any change of them. commitMu serialises every use of md (pdata is single-writer)
// and so every commit. Lock order: commitMu before mu.
type Clone struct {
	ctx               *targets.Context
	meta, dest, src   targets.Dev
	lenSectors        uint64
	regionSectors     uint64
	regionShift       uint
	nrRegions         uint64
	tableArgs         []string // argv[3:] verbatim, for Table
	initial           settings // from the constructor arguments
	noDiscardPassdown bool

	commitMu sync.Mutex
	md       *metadata

	mu         sync.Mutex
	cond       *sync.Cond
	bitmap     []uint64                 // bit r set: region r hydrated
	nrHydrated uint64                   // set bits of bitmap
	dirty      map[uint64]struct{}      // bitmap words changed since the last commit
	busy       map[uint64]chan struct{} // regions being hydrated; closed when done
	inFlight   uint32                   // regions being hydrated
	offset     uint64                   // where the worker looks next
	cur        settings
	suspended  bool      // postsuspend ran and no resume since
	lastCommit time.Time // the worker's last commit, or the constructor (last_commit_jiffies)
	running    bool      // the worker goroutine runs
	stop       bool      // the worker is asked to stop
	workerDone chan struct{}
	copies     sync.WaitGroup // the worker's copies, until their commit
	owner      bool           // this instance writes the metadata (see owners)
	fresh      bool           // built as an inactive table (ctx.Inactive) and not yet resumed
	failed     error          // metadata failure: Fail mode
}

// owners maps a metadata device to the one Clone of this process that may
// write it: a reloaded table waits in standby until its resume, when the
// old table has committed and stopped.
var owners struct {
	sync.Mutex
	m map[string]*Clone
}

// init sets up the in-core state from freshly opened metadata (and, for a
// restored table, from its saved state) and claims the metadata device; a
// table resumes hydration unless it was suspended.
func (c *Clone) init(md *metadata, bitmap []uint64) {
	c.cond = sync.NewCond(&c.mu)
	c.md, c.bitmap, c.nrHydrated = md, bitmap, popcount(bitmap)
	c.dirty, c.busy = map[uint64]struct{}{}, map[uint64]chan struct{}{}
	c.cur = c.initial
	c.lastCommit = time.Now()
	if c.ctx.Restored {
		c.suspended = c.ctx.Suspended
		c.restoreState(c.ctx.Saved)
	}
	owners.Lock()
	if owners.m == nil {
		owners.m = map[string]*Clone{}
	}
	if owners.m[c.meta.Name()] == nil {
		owners.m[c.meta.Name()] = c
		c.owner = true
	}
	owners.Unlock()
	if c.owner && !c.suspended {
		c.startWorker()
	}
}

// takeOwnership makes c the writer of its metadata, reloading it from disk
// (the previous owner committed at its postsuspend).
func (c *Clone) takeOwnership() error {
	owners.Lock()
	old := owners.m[c.meta.Name()]
	owners.m[c.meta.Name()] = c
	owners.Unlock()
	if old != nil && old != c {
		old.stopWorker()
		old.commitMu.Lock()
		old.mu.Lock()
		old.owner = false
		old.mu.Unlock()
		old.commitMu.Unlock()
	}
	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	md, bitmap, err := openMetadata(c.meta, c.lenSectors, c.regionSectors)
	if err != nil {
		return fmt.Errorf("clone %s: reloading metadata: %w", c.ctx.DevName, err)
	}
	c.mu.Lock()
	c.md, c.bitmap, c.nrHydrated = md, bitmap, popcount(bitmap)
	clear(c.dirty)
	c.owner = true
	c.mu.Unlock()
	return nil
}

// MaxIOSectors is the region size: no I/O crosses a region.
func (c *Clone) MaxIOSectors() uint64 { return c.regionSectors }

// SupportsDiscards is true: the clone takes discards whatever its devices
// do (it marks whole regions hydrated).
func (c *Clone) SupportsDiscards() bool { return true }

// Areas are the ranges of the destination and source the clone uses.
func (c *Clone) Areas() []targets.Area {
	return []targets.Area{
		{Dev: c.dest, LenSectors: c.lenSectors},
		{Dev: c.src, LenSectors: c.lenSectors},
	}
}

// IOHints is clone_io_hints' io_opt: the source's and destination's
// stacked io_opt when the region size divides it, else the region size.
func (c *Clone) IOHints(stackedBytes int64) int64 {
	return targets.KeepFactorOfBlock(stackedBytes, int64(c.regionSectors)*targets.SectorSize)
}

// PostSuspend stops hydration, waits for copies in flight and commits
// (clone_postsuspend).
func (c *Clone) PostSuspend() error {
	c.stopWorker()
	c.mu.Lock()
	c.suspended = true
	c.mu.Unlock()
	return c.commit(false, false)
}

// StopBackground stops hydration at the end of a process, waits for the
// copies in flight and commits what they and the process's I/O changed,
// standing in for the kernel's periodic commit; SaveState then sees the
// committed space map.
func (c *Clone) StopBackground() {
	c.stopWorker()
	// an error has switched the clone to Fail mode, which Close reports
	_ = c.commit(false, false)
}

// PreResume takes over the metadata from a table this one replaces.
func (c *Clone) PreResume() error {
	c.mu.Lock()
	owner := c.owner
	c.mu.Unlock()
	if owner {
		return nil
	}
	return c.takeOwnership()
}

// Resume restarts hydration. A freshly loaded table starts from its own
// arguments; a resumed one keeps what messages set.
func (c *Clone) Resume() {
	c.mu.Lock()
	if c.fresh {
		c.cur = c.initial
		c.fresh = false
	}
	c.suspended = false
	c.mu.Unlock()
	c.startWorker()
}

// Close stops hydration, commits and gives up the metadata device.
func (c *Clone) Close() error {
	c.stopWorker()
	err := c.commit(false, false)
	owners.Lock()
	if owners.m[c.meta.Name()] == c {
		delete(owners.m, c.meta.Name())
	}
	owners.Unlock()
	return err
}

// Table is "<meta> <dest> <source>" and the constructor's words from the
// region size on, as typed.
func (c *Clone) Table() string {
	return fmt.Sprintf("%s %s %s %s", c.meta.Name(), c.dest.Name(), c.src.Name(), strings.Join(c.tableArgs, " "))
}

// Status is the kernel's info line (after a commit):
// <md block sectors> <used>/<total> <region> <hydrated>/<regions> <in flight>
// <#features> <features>* 4 hydration_threshold N hydration_batch_size N rw.
func (c *Clone) Status() string {
	if err := c.commit(false, false); err != nil {
		return "Fail"
	}
	c.commitMu.Lock()
	used, total := c.md.usage()
	c.commitMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failed != nil {
		return "Fail"
	}
	var feat []string
	if c.cur.Disabled {
		feat = append(feat, "no_hydration ")
	}
	if c.noDiscardPassdown {
		feat = append(feat, "no_discard_passdown ")
	}
	return fmt.Sprintf("8 %d/%d %d %d/%d %d %d %s4 hydration_threshold %d hydration_batch_size %d rw",
		used, total, c.regionSectors, c.nrHydrated, c.nrRegions, c.inFlight,
		len(feat), strings.Join(feat, ""), c.cur.Threshold, c.cur.Batch)
}

// commitPeriod is the kernel's COMMIT_PERIOD.
const commitPeriod = time.Second

// Commit is targets.Committer, the kernel's periodic commit (do_waker): the
// changes made since the last commit are committed if the worker's last
// commit is more than commitPeriod old.
func (c *Clone) Commit() error { return c.commitIfDue() }

// commitIfDue is the commit the kernel's worker makes after it handled a
// copy that a write waited for, a discard or a background copy
// (process_deferred_flush_bios): only when something changed and its last
// commit, or the constructor, is more than commitPeriod old.
func (c *Clone) commitIfDue() error {
	c.mu.Lock()
	due := len(c.dirty) > 0 && time.Since(c.lastCommit) > commitPeriod
	c.mu.Unlock()
	if !due {
		return nil
	}
	return c.commit(false, true)
}

// commit makes the hydration bitmap durable (commit_metadata): bitmap words
// changed since the last commit are taken first, the destination is
// flushed (their copies are then durable), and only then is the metadata
// committed; nothing is written when nothing changed. flushDest flushes
// the destination even then (a flush passed down). A commit by the worker
// (byWorker: flushes, due commits, hydration completed) restarts the
// commit period; those of status, suspend and the end of a process do not,
// as in the kernel. A commit that finishes hydration raises an event.
func (c *Clone) commit(flushDest, byWorker bool) error {
	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	c.mu.Lock()
	if c.failed != nil {
		c.mu.Unlock()
		return c.failed
	}
	if !c.owner {
		c.mu.Unlock()
		return nil
	}
	words := make(map[uint64]uint64, len(c.dirty))
	for i := range c.dirty {
		words[i] = c.bitmap[i]
	}
	clear(c.dirty)
	done := c.nrHydrated == c.nrRegions
	c.mu.Unlock()
	if len(words) > 0 || flushDest {
		if err := c.dest.Flush(); err != nil {
			c.redirty(words)
			return fmt.Errorf("clone %s: flushing the destination: %w", c.ctx.DevName, err)
		}
	}
	if len(words) == 0 {
		return nil
	}
	if err := c.md.commit(words); err != nil {
		return c.fail(fmt.Errorf("clone %s: metadata commit: %w", c.ctx.DevName, err))
	}
	if byWorker {
		c.mu.Lock()
		c.lastCommit = time.Now()
		c.mu.Unlock()
	}
	if done && c.ctx.Event != nil {
		c.ctx.Event()
	}
	return nil
}

// redirty puts words back to be committed next time.
func (c *Clone) redirty(words map[uint64]uint64) {
	c.mu.Lock()
	for i := range words {
		c.dirty[i] = struct{}{}
	}
	c.mu.Unlock()
}

// fail switches to Fail mode: I/O errors, status "Fail", no more commits.
func (c *Clone) fail(err error) error {
	c.mu.Lock()
	if c.failed == nil {
		c.failed = err
		c.ctx.Logf("clone: %s: %v", c.ctx.DevName, err)
	}
	c.cond.Broadcast()
	c.mu.Unlock()
	return err
}

// Package snapshot is the kernel's classic copy-on-write snapshots
// (drivers/md/dm-snap.c of Linux 6.1): the snapshot target (v1.16.0), a
// frozen view of an origin device whose changed chunks live on a COW
// device, and the snapshot-origin target (v1.9.0), the origin as its users
// write it, copying each chunk into every snapshot before the first write
// over it. The COW device's format (the persistent store, P or PO) is the
// kernel's, byte for byte; the transient store (N) keeps its exceptions in
// memory, and across gdmsetup's processes in the table's saved state. The
// snapshot-merge target (v1.5.0) writes a persistent snapshot's chunks
// back into its origin.
package snapshot

import (
	"fmt"
	"sync"
	"syscall"

	"github.com/gdmsetup/gdmsetup/errno"
	"github.com/gdmsetup/gdmsetup/targets"
)

// Type is the snapshot target's registration.
var Type = targets.Type{Name: "snapshot", Version: [3]int{1, 16, 0}, New: New}

// chunkLockStripes is how many chunk locks a snapshot has; chunks share
// them by their number modulo this.
const chunkLockStripes = 64

// Snapshot is one snapshot table line (struct dm_snapshot).
//
// Locks, outermost first: a chunk's stripe of chunkLocks is held for
// reading while I/O of the snapshot reads or writes that chunk where it
// stands (on the origin or the COW device), and for writing while an
// exception for it is made (the kernel's tracked chunks and pending
// exceptions: a write to a chunk being copied waits for the copy); createMu
// serialises the making of exceptions (allocation, copy, commit), so the
// store sees them one at a time and in allocation order; mu guards store,
// exceptions, valid, overflowed, active and suspended. A handover
// takes origins' lock, waits for the origin writes copying into the
// source, then takes both snapshots' mu.
type Snapshot struct {
	origin, cow targets.Dev
	// beginSectors is where the line starts in its table: the kernel's
	// targets see absolute sectors of the mapped device, and a snapshot's
	// chunks are counted from sector 0 of the origin.
	beginSectors, lenSectors uint64
	// merge: a snapshot-merge line (origin writes make no exceptions in it)
	merge bool
	features
	devName string
	logf    func(format string, args ...any)
	event   func()

	chunkLocks [chunkLockStripes]sync.RWMutex
	createMu   sync.Mutex
	// inflight counts the origin writes copying into the snapshot; they
	// join while holding origins' read lock, so once the snapshot is out
	// of its origin's list no new one does (the kernel's
	// pending_exceptions_count, waited for by its dtr and before a
	// handover).
	inflight sync.WaitGroup

	mu         sync.RWMutex
	store      store
	exceptions map[uint64]uint64 // old chunk -> new chunk
	valid      bool
	// overflowed: a write to the snapshot found the PO store's COW device
	// full; writes are refused from then on.
	overflowed bool
	// active: the table has been resumed; origin writes copy into it
	// only then.
	active bool
	// suspended: the device of this table is suspended (a handover source
	// must be)
	suspended bool
	// mergeFailed: merging stopped on an error
	mergeFailed bool
	// notResumed: restored from the saved state of a live table never
	// resumed (read by the constructor only)
	notResumed bool
	// restartMerge: restored from the saved state of a snapshot-merge
	// whose merge a process ended before it was over (read by NewMerge)
	restartMerge bool
	closed       bool
}

// New is snapshot_ctr: the kernel's checks in its order and words.
func New(ctx *targets.Context, args []string) (targets.Target, error) {
	return newSnapshot(ctx, args, false)
}

// newSnapshot is snapshot_ctr for snapshot and snapshot-merge lines.
func newSnapshot(ctx *targets.Context, args []string, merge bool) (*Snapshot, error) {
	if len(args) < 4 {
		return nil, targets.Invalid("requires 4 or more arguments")
	}
	s := &Snapshot{beginSectors: ctx.Begin, lenSectors: ctx.Len, devName: ctx.DevName, logf: ctx.Logf,
		event: ctx.Event, exceptions: map[uint64]uint64{}, valid: true, merge: merge, suspended: ctx.Suspended}
	if err := s.features.parse(&targets.ArgSet{Args: args[4:]}); err != nil {
		return nil, err
	}
	origin, err := ctx.Open(args[0])
	if err != nil {
		return nil, targets.Errorf(targets.OpenErrno(err), "Cannot get origin device")
	}
	s.origin = origin
	cow, err := ctx.Open(args[1])
	if err == nil && cow.Name() == origin.Name() {
		return nil, targets.Invalid("COW device cannot be the same as origin device")
	}
	if err != nil {
		return nil, targets.Errorf(targets.OpenErrno(err), "Cannot get COW device")
	}
	s.cow = cow
	st, err := newStore(cow, args[2], args[3], ctx.Logf)
	if err != nil {
		return nil, targets.Invalid("Couldn't create exception store")
	}
	s.store = st
	if merge && !st.persistent() {
		return nil, targets.Invalid("Snapshot exception store does not support snapshot-merge.")
	}
	if ctx.Restored && ctx.Saved != "" {
		if err := s.restore(ctx.Saved); err != nil {
			return nil, targets.Errorf(syscall.EINVAL, "Cannot restore snapshot state: %v", err)
		}
	}
	if ctx.ActivateUsers != nil {
		// the other tables on this COW device stand built in the kernel:
		// a handover source, or a destination already waiting; a merging
		// snapshot writes through its origin, into every snapshot of it
		devs := []targets.Dev{cow}
		if merge {
			devs = append(devs, origin)
		}
		for _, dev := range devs {
			if err := ctx.ActivateUsers(dev); err != nil {
				return nil, targets.Errorf(errno.Of(err), "Cannot build the other tables on %s in this process: %v", dev.Name(), err)
			}
		}
	}
	// a live table rebuilt in a later process after its resume was
	// checked when it was built for real, and waits for no handover
	active := ctx.Restored && !ctx.Inactive && !s.notResumed
	handover, msg := register(s, active)
	if msg != "" {
		return nil, targets.Invalid(msg)
	}
	s.active = active
	if handover {
		// a handover destination takes its source's store when it goes
		// live (Resume); until then it has no chunk size
		s.setChunkSectors(0)
		return s, nil
	}
	logf := ctx.Logf
	if ctx.Restored {
		// the kernel logged these when the table was built for real
		logf = func(string, ...any) {}
	}
	if p, ok := st.(*persistent); ok {
		p.logf = logf
	}
	invalid, err := st.readMetadata(func(oldChunk, newChunk uint64) {
		if _, dup := s.exceptions[oldChunk]; !dup {
			s.exceptions[oldChunk] = newChunk
		}
	})
	if p, ok := st.(*persistent); ok {
		p.logf = ctx.Logf
	}
	if err != nil {
		unregister(s)
		return nil, targets.Errorf(errno.Of(err), "Failed to read snapshot metadata")
	}
	if invalid {
		s.valid = false
		logf("snapshots: Snapshot is marked invalid.")
	}
	if st.chunkSectors() == 0 {
		unregister(s)
		return nil, targets.Invalid("Chunk size not set")
	}
	return s, nil
}

// newStore is dm_exception_store_create: the store type from the first
// letter of kind (P or N, any case), the chunk size read by kstrtouint
// (0: the persistent store's default or its header's), the type's options
// after the letter.
func newStore(cow targets.Dev, kind, chunkArg string, logf func(string, ...any)) (store, error) {
	var letter byte
	if kind != "" {
		letter = kind[0] &^ 0x20
	}
	if letter != 'P' && letter != 'N' {
		return nil, fmt.Errorf("exception store type %q is not P or N", kind)
	}
	chunk, ok := targets.ParseUint(chunkArg, 32)
	if !ok {
		return nil, fmt.Errorf("invalid chunk size %q", chunkArg)
	}
	if chunk != 0 {
		if err := checkChunkSectors(chunk); err != nil {
			return nil, err
		}
	}
	if letter == 'N' {
		return &transient{cow: cow, chunk: chunk}, nil
	}
	return newPersistent(cow, chunk, kind[1:], logf)
}

// chunkSectors is the store's chunk size.
func (s *Snapshot) chunkSectors() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.store.chunkSectors()
}

// setChunkSectors sets a store's chunk size (0 for a handover destination).
func (s *Snapshot) setChunkSectors(n uint64) {
	switch st := s.store.(type) {
	case *persistent:
		st.mu.Lock()
		st.chunk = n
		st.mu.Unlock()
	case *transient:
		st.chunk = n
	}
}

func (s *Snapshot) isActive() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.active
}

// Status is snapshot_status's STATUSTYPE_INFO: "Invalid", "Overflow" or
// "<sectors allocated>/<COW sectors> <metadata sectors>".
func (s *Snapshot) Status() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	switch {
	case !s.valid:
		return "Invalid"
	case s.mergeFailed:
		return "Merge failed"
	case s.overflowed:
		return "Overflow"
	}
	allocated, total, metadata := s.store.usage()
	return fmt.Sprintf("%d/%d %d", allocated, total, metadata)
}

// Table is "<origin> <COW> <P|PO|N> <chunk size>[ <#features> <feature>...]".
func (s *Snapshot) Table() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.origin.Name() + " " + s.cow.Name() + s.store.tableArgs() + s.features.String()
}

// Areas is snapshot_iterate_devices: the origin for the line's length,
// the whole COW device.
func (s *Snapshot) Areas() []targets.Area {
	return []targets.Area{
		{Dev: s.origin, StartSector: 0, LenSectors: s.lenSectors},
		{Dev: s.cow, StartSector: 0, LenSectors: devSectors(s.cow)},
	}
}

// MaxIOSectors is the chunk size (dm_set_target_max_io_len); a handover
// destination takes its source's at resume, so until then it has none.
func (s *Snapshot) MaxIOSectors() uint64 { return s.chunkSectors() }

// SupportsDiscards: only with discard_zeroes_cow (num_discard_bios).
func (s *Snapshot) SupportsDiscards() bool { return s.discardZeroesCow }

// PreResume is snapshot_preresume: a handover source cannot resume while
// its destination waits, and a destination waits for its source's device
// to be suspended.
func (s *Snapshot) PreResume() error {
	origins.RLock()
	defer origins.RUnlock()
	_, src, dest := sharingCOWLocked(s)
	if src == nil || dest == nil {
		return nil
	}
	src.mu.RLock()
	defer src.mu.RUnlock()
	if s == src {
		s.logf("snapshots: Unable to resume snapshot source until handover completes.")
		return syscall.EINVAL
	}
	if !src.suspended {
		s.logf("snapshots: Unable to perform snapshot handover until source is suspended.")
		return syscall.EINVAL
	}
	return nil
}

// Resume is snapshot_resume: a waiting destination takes its source's
// exceptions (__handover_exceptions; the source may be the table this one
// replaces on the same device, which the core destroys only after this
// resume), then the snapshot takes its place among its origin's snapshots
// by chunk size and origin writes start copying into it.
func (s *Snapshot) Resume() {
	origins.Lock()
	if _, src, dest := sharingCOWLocked(s); src != nil && dest == s {
		handoverLocked(src, dest)
	}
	removeLocked(s)
	insertLocked(s)
	origins.Unlock()
	s.mu.Lock()
	s.active, s.suspended = true, false
	s.mu.Unlock()
}

// PostSuspend notes that the table's device is suspended.
func (s *Snapshot) PostSuspend() error {
	s.mu.Lock()
	s.suspended = true
	s.mu.Unlock()
	return nil
}

// Destroy is snapshot_dtr's handover part: a source destroyed while a
// destination still waits for its exceptions (one not resumed yet) leaves
// the destination invalid (the kernel's "Cancelling snapshot handover.").
func (s *Snapshot) Destroy() {
	origins.Lock()
	defer origins.Unlock()
	_, src, dest := sharingCOWLocked(s)
	if src != s || dest == nil {
		return
	}
	dest.mu.Lock()
	dest.valid = false
	dest.mu.Unlock()
	s.logf("snapshots: Cancelling snapshot handover.")
}

// handoverLocked is __handover_exceptions: dest takes src's store,
// exceptions and state; src is left invalid. origins' lock is held.
func handoverLocked(src, dest *Snapshot) {
	src.inflight.Wait()
	src.mu.Lock()
	dest.mu.Lock()
	overflow := false
	if p, ok := dest.store.(*persistent); ok {
		overflow = p.overflow
	}
	dest.store, src.store = src.store, dest.store
	dest.exceptions, src.exceptions = src.exceptions, dest.exceptions
	if p, ok := dest.store.(*persistent); ok {
		p.mu.Lock()
		p.overflow = overflow
		p.mu.Unlock()
	}
	dest.valid, dest.overflowed = src.valid, src.overflowed
	src.valid = false
	dest.mu.Unlock()
	src.mu.Unlock()
}

// Close takes the snapshot out of its origin's list and waits for the
// origin writes copying into it: none uses it once this returns.
func (s *Snapshot) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	unregister(s)
	s.inflight.Wait()
	return nil
}

package snapshot

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gdmsetup/gdmsetup/targets"
)

// MergeType is the snapshot-merge target's registration.
var MergeType = targets.Type{Name: "snapshot-merge", Version: [3]int{1, 5, 0}, New: NewMerge}

// Merge is a snapshot-merge line: a persistent snapshot (taken over from
// the live snapshot on the same COW device when it is resumed) whose
// chunks are written back into the origin, after which it is the origin.
// Its I/O goes to the COW device for chunks not yet merged and through
// the origin (copying into the origin's other snapshots) otherwise.
//
// As in the kernel, the merge runs in the background from the resume on
// (start_merge), a batch of consecutive chunks at a time, each batch
// committed on the COW device as it completes (persistent_commit_merge),
// so status shows the allocated sectors shrinking to the metadata's and a
// merge interrupted at any point, a SIGKILL included, goes on from the
// last batch committed. A suspend or the table's destruction stops it
// after the batch in flight (stop_merge); the end of a process lets it
// run on for up to mergeGrace, then stops it the same way, and the next
// process that builds the live table starts it again. It stops by itself
// when no exception is left, or on an error (status "Merge failed").
//
// Locks are the Snapshot's: the chunks of a batch are held for writing
// while they are copied back and their exceptions removed, so I/O to them
// waits for the batch, then finds them on the origin. runMu guards the
// worker's lifetime: running, stopping, done, started and over.
type Merge struct {
	*Snapshot

	runMu sync.Mutex
	// running: a worker runs (RUNNING_MERGE); stopping: it is asked to
	// stop after its batch (SHUTDOWN_MERGE); done is closed when it ends.
	running, stopping bool
	done              chan struct{}
	// started: a worker ran in this process; over: the last one ended by
	// itself (nothing left to merge, or an error), not asked to stop or
	// cut off by held I/O released. A merge started and not over is
	// unfinished: the saved state asks the next process to go on.
	started, over bool
}

// mergeGrace is how long the end of a process lets a running merge go on
// before it stops it: a merge of a few megabytes is over by then, as the
// kernel's is before the next command.
var mergeGrace = time.Second

// mergeBatchBytes bounds the chunks one batch copies back: the kernel
// copies a whole run of consecutive exceptions at once, gdmsetup at most
// this much of its end (at least one chunk), so that I/O held for the
// batch is not held long.
const mergeBatchBytes = 4 << 20

// mergeCopyBytes is the buffer a batch copies through.
const mergeCopyBytes = 1 << 20

// NewMerge is snapshot_ctr for a snapshot-merge line. A live table that a
// later process rebuilds while its merge was running goes on merging.
func NewMerge(ctx *targets.Context, args []string) (targets.Target, error) {
	s, err := newSnapshot(ctx, args, true)
	if err != nil {
		return nil, err
	}
	m := &Merge{Snapshot: s}
	if s.restartMerge && s.isActive() && !ctx.Suspended {
		m.startMerge()
	}
	return m, nil
}

// ReadAt is snapshot_merge_map for reads: the COW device for a chunk with
// an exception (of a valid snapshot), the origin otherwise.
func (m *Merge) ReadAt(p []byte, sector uint64) error {
	return m.readChunks(p, sector, func(chunk uint64) (uint64, bool, error) {
		newChunk, found := m.mergeLookup(chunk)
		return newChunk, found, nil
	})
}

// WriteAt is snapshot_merge_map for writes: the COW device for a chunk
// with an exception, else the origin, copying into its other snapshots.
func (m *Merge) WriteAt(p []byte, sector uint64) error { return m.write(p, sector, false) }

// WriteFUA is targets.FUAWriter: snapshot_merge_map remaps a REQ_FUA write
// as it is, to the COW device or through do_origin to the origin, a FUA
// write there.
func (m *Merge) WriteFUA(p []byte, sector uint64) error { return m.write(p, sector, true) }

// write is WriteAt, or WriteFUA with fua.
func (m *Merge) write(p []byte, sector uint64, fua bool) error {
	return m.pieces(m.beginSectors+sector, uint64(len(p))/targets.SectorSize, func(chunk, sector, n uint64, off int64) error {
		buf := p[off : off+int64(n)*targets.SectorSize]
		lk := m.chunkLock(chunk)
		lk.RLock()
		newChunk, found := m.mergeLookup(chunk)
		if found {
			err := targets.DevWrite(m.cow, buf, m.cowOffBytes(newChunk, sector), fua)
			lk.RUnlock()
			return err
		}
		lk.RUnlock()
		return writeOrigin(m.origin, sector, buf, fua)
	})
}

// mergeLookup is the exception of chunk, if the snapshot is valid.
func (m *Merge) mergeLookup(chunk uint64) (uint64, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if !m.valid {
		return 0, false
	}
	n, ok := m.exceptions[chunk]
	return n, ok
}

// Discard does nothing: once merging, discards no longer change anything.
func (m *Merge) Discard(sector, lenSectors uint64) error { return nil }

// Flush flushes the origin and the COW device (two flush bios).
func (m *Merge) Flush() error {
	if err := m.origin.Flush(); err != nil {
		return err
	}
	return m.cow.Flush()
}

// Resume is snapshot_merge_resume: the handover, then the merge starts in
// the background.
func (m *Merge) Resume() {
	m.Snapshot.Resume()
	m.startMerge()
}

// PreSuspend is snapshot_merge_presuspend: the merge stops after the
// batch in flight; the resume starts it again.
func (m *Merge) PreSuspend() { m.stopMerge() }

// PostSuspend stops the merge too, then notes the suspend: a process that
// suspends a device whose live table it had not built builds it after
// the presuspend, and a table rebuilt with a merge unfinished starts it.
func (m *Merge) PostSuspend() error {
	m.stopMerge()
	return m.Snapshot.PostSuspend()
}

// Destroy is snapshot_dtr: the merge stops, then the handover part.
func (m *Merge) Destroy() {
	m.stopMerge()
	m.Snapshot.Destroy()
}

// StopBackground (the end of a process) lets a running merge go on for up
// to mergeGrace, then stops it; if it was not over, the saved state says
// so (SaveState) and the next process that builds the live table goes on
// with it.
func (m *Merge) StopBackground() {
	m.runMu.Lock()
	running, done := m.running, m.done
	m.runMu.Unlock()
	if !running {
		return
	}
	timer := time.NewTimer(mergeGrace)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
	}
	m.stopMerge()
}

// Close stops the merge (StopBackground has let it run on where the
// process ends) and releases the snapshot.
func (m *Merge) Close() error {
	m.stopMerge()
	return m.Snapshot.Close()
}

// SaveState is Snapshot.SaveState with whether the merge ran in this
// process and was not over (StopBackground has stopped it). One a suspend
// stopped is saved so too: a suspended device's table starts no merge
// when it is rebuilt, and its resume starts one anyway.
func (m *Merge) SaveState() string {
	m.runMu.Lock()
	unfinished := m.started && !m.over
	m.runMu.Unlock()
	st := m.savedState()
	st.Merging = unfinished
	return st.encode()
}

// startMerge is start_merge: a worker starts unless one runs.
func (m *Merge) startMerge() {
	m.runMu.Lock()
	defer m.runMu.Unlock()
	if m.running {
		return
	}
	m.running, m.stopping, m.started, m.over = true, false, true, false
	m.done = make(chan struct{})
	go m.worker(m.done)
}

// stopMerge is stop_merge: a running worker is asked to stop after its
// batch and waited for.
func (m *Merge) stopMerge() {
	m.runMu.Lock()
	if !m.running {
		m.runMu.Unlock()
		return
	}
	m.stopping = true
	done := m.done
	m.runMu.Unlock()
	<-done
}

// worker is snapshot_merge_next_chunks and merge_callback in a loop: a
// batch at a time until the merge is over or the worker is asked to stop.
func (m *Merge) worker(done chan struct{}) {
	defer close(done)
	for {
		m.runMu.Lock()
		if m.stopping {
			m.running, m.stopping = false, false
			m.runMu.Unlock()
			return
		}
		m.runMu.Unlock()
		if !m.step() {
			m.runMu.Lock()
			m.running, m.stopping, m.over = false, false, true
			m.runMu.Unlock()
			return
		}
	}
}

// step merges one batch: the end of the last run of consecutive
// exceptions of the current metadata area is copied back (after the
// origin's other snapshots got the chunks it overwrites), the origin
// flushed, the exceptions cleared on the COW device and removed. It
// reports whether the merge goes on; it is over when no exception is left
// or on an error, which marks it failed (merge_shutdown). I/O that a
// suspended device under the snapshot held, released as this process
// ends, stops the batch without failing the merge: it is done again.
func (m *Merge) step() bool {
	m.mu.RLock()
	valid, st := m.valid, m.store
	m.mu.RUnlock()
	if !valid {
		m.logf("snapshots: Snapshot is invalid: can't merge")
		return false
	}
	ps := st.(*persistent)
	n, lastOld, lastNew, err := ps.prepareMerge()
	if err != nil {
		m.logf("snapshots: Read error in exception store: shutting down merge")
		m.fail()
		return false
	}
	if n == 0 {
		return false
	}
	n = min(n, max(1, mergeBatchBytes/(ps.chunkSectors()*targets.SectorSize)))
	msg, err := m.mergeChunks(ps, lastOld+1-n, lastNew+1-n, n)
	if errors.Is(err, targets.ErrReleased) {
		m.runMu.Lock()
		m.stopping = true
		m.runMu.Unlock()
		return true
	}
	if msg != "" {
		m.logf("snapshots: %s", msg)
		m.fail()
		return false
	}
	return true
}

// fail marks the merge failed.
func (m *Merge) fail() {
	m.mu.Lock()
	m.mergeFailed = true
	m.mu.Unlock()
}

// mergeChunks merges n chunks from oldChunk (on the COW device from
// newChunk), holding their locks; it returns the kernel's error line, and
// the I/O error behind it.
func (m *Merge) mergeChunks(ps *persistent, oldChunk, newChunk, n uint64) (string, error) {
	cs := ps.chunkSectors()
	destSector := oldChunk * cs
	copyIntoSnapshots(m.origin.Name(), destSector, n*cs)
	var used [chunkLockStripes]bool
	for c := oldChunk; c < oldChunk+n && c-oldChunk < chunkLockStripes; c++ {
		used[c%chunkLockStripes] = true
	}
	for i, u := range used {
		if u {
			m.chunkLocks[i].Lock()
			defer m.chunkLocks[i].Unlock()
		}
	}
	if msg, err := m.copyBack(newChunk*cs, destSector, n*cs); msg != "" {
		return msg, err
	}
	if err := m.origin.Flush(); err != nil {
		return "Flush after merge failed: shutting down merge", err
	}
	if err := ps.commitMerge(n); err != nil {
		return "Write error in exception store: shutting down merge", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for c := oldChunk + n; c > oldChunk; c-- {
		if _, ok := m.exceptions[c-1]; !ok {
			return fmt.Sprintf("Corruption detected: exception for block %d is on disk but not in memory", c-1), nil
		}
		delete(m.exceptions, c-1)
	}
	return "", nil
}

// copyBack copies lenSectors from the COW device's srcSector to the
// origin's destSector, cut at the origin's end, through a bounded buffer.
func (m *Merge) copyBack(srcSector, destSector, lenSectors uint64) (string, error) {
	originSectors := devSectors(m.origin)
	if destSector >= originSectors {
		return "", nil
	}
	lenSectors = min(lenSectors, originSectors-destSector)
	buf := make([]byte, min(lenSectors*targets.SectorSize, mergeCopyBytes))
	for done := uint64(0); done < lenSectors; {
		p := buf[:min(uint64(len(buf)), (lenSectors-done)*targets.SectorSize)]
		if _, err := m.cow.ReadAt(p, int64(srcSector+done)*targets.SectorSize); err != nil {
			return "Read error: shutting down merge.", err
		}
		if _, err := m.origin.WriteAt(p, int64(destSector+done)*targets.SectorSize); err != nil {
			return "Write error: shutting down merge.", err
		}
		done += uint64(len(p)) / targets.SectorSize
	}
	return "", nil
}

package snapshot

import (
	"fmt"

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
// The kernel merges in the background after the resume; gdmsetup merges
// within the resume, so the merge is over when the resume returns (or
// stopped on an error: status "Merge failed"). Locks are the Snapshot's:
// the chunks being merged are held for writing while they are copied back
// and their exceptions removed.
type Merge struct {
	*Snapshot
}

// NewMerge is snapshot_ctr for a snapshot-merge line.
func NewMerge(ctx *targets.Context, args []string) (targets.Target, error) {
	s, err := newSnapshot(ctx, args, true)
	if err != nil {
		return nil, err
	}
	return &Merge{s}, nil
}

// ReadAt is snapshot_merge_map for reads: the COW device for a chunk with
// an exception (of a valid snapshot), the origin otherwise.
func (m *Merge) ReadAt(p []byte, sector uint64) error {
	return m.pieces(m.beginSectors+sector, uint64(len(p))/targets.SectorSize, func(chunk, sector, n uint64, off int64) error {
		buf := p[off : off+int64(n)*targets.SectorSize]
		lk := m.chunkLock(chunk)
		lk.RLock()
		defer lk.RUnlock()
		newChunk, found := m.mergeLookup(chunk)
		var err error
		if found {
			_, err = m.cow.ReadAt(buf, m.cowOffBytes(newChunk, sector))
		} else {
			_, err = m.origin.ReadAt(buf, int64(sector)*targets.SectorSize)
		}
		return err
	})
}

// WriteAt is snapshot_merge_map for writes: the COW device for a chunk
// with an exception, else the origin, copying into its other snapshots.
func (m *Merge) WriteAt(p []byte, sector uint64) error {
	return m.pieces(m.beginSectors+sector, uint64(len(p))/targets.SectorSize, func(chunk, sector, n uint64, off int64) error {
		buf := p[off : off+int64(n)*targets.SectorSize]
		lk := m.chunkLock(chunk)
		lk.RLock()
		newChunk, found := m.mergeLookup(chunk)
		if found {
			_, err := m.cow.WriteAt(buf, m.cowOffBytes(newChunk, sector))
			lk.RUnlock()
			return err
		}
		lk.RUnlock()
		return writeOrigin(m.origin, sector, buf)
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

// Resume is snapshot_merge_resume: the handover, then the whole merge.
func (m *Merge) Resume() {
	m.Snapshot.Resume()
	m.run()
}

// run is snapshot_merge_next_chunks and merge_callback until no exception
// is left or one step fails: the last run of consecutive exceptions of the
// current area is copied back (after the origin's other snapshots got the
// chunks it overwrites), the origin flushed, the exceptions cleared on
// the COW device and removed.
func (m *Merge) run() {
	for {
		m.mu.RLock()
		valid, st := m.valid, m.store
		m.mu.RUnlock()
		if !valid {
			m.logf("snapshots: Snapshot is invalid: can't merge")
			return
		}
		ps := st.(*persistent)
		n, lastOld, lastNew, err := ps.prepareMerge()
		if err != nil {
			m.logf("snapshots: Read error in exception store: shutting down merge")
			m.fail()
			return
		}
		if n == 0 {
			return
		}
		if msg := m.mergeChunks(ps, lastOld+1-n, lastNew+1-n, n); msg != "" {
			m.logf("snapshots: %s", msg)
			m.fail()
			return
		}
	}
}

// fail marks the merge failed.
func (m *Merge) fail() {
	m.mu.Lock()
	m.mergeFailed = true
	m.mu.Unlock()
}

// mergeChunks merges n chunks from oldChunk (on the COW device from
// newChunk), holding their locks; it returns the kernel's error line.
func (m *Merge) mergeChunks(ps *persistent, oldChunk, newChunk, n uint64) string {
	cs := m.chunkSectors()
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
	originSectors := devSectors(m.origin)
	if destSector < originSectors {
		buf := make([]byte, min(n*cs, originSectors-destSector)*targets.SectorSize)
		if _, err := m.cow.ReadAt(buf, int64(newChunk*cs)*targets.SectorSize); err != nil {
			return "Read error: shutting down merge."
		}
		if _, err := m.origin.WriteAt(buf, int64(destSector)*targets.SectorSize); err != nil {
			return "Write error: shutting down merge."
		}
	}
	if m.origin.Flush() != nil {
		return "Flush after merge failed: shutting down merge"
	}
	if ps.commitMerge(n) != nil {
		return "Write error in exception store: shutting down merge"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for c := oldChunk + n; c > oldChunk; c-- {
		if _, ok := m.exceptions[c-1]; !ok {
			return fmt.Sprintf("Corruption detected: exception for block %d is on disk but not in memory", c-1)
		}
		delete(m.exceptions, c-1)
	}
	return ""
}

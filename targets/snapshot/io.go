package snapshot

import (
	"fmt"
	"sync"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// errInvalid is the error of I/O to an invalid snapshot, or of a write to
// an overflowed one (DM_MAPIO_KILL).
var errInvalid = syscall.EIO

// chunkLock is the lock of chunk's stripe.
func (s *Snapshot) chunkLock(chunk uint64) *sync.RWMutex {
	return &s.chunkLocks[chunk%chunkLockStripes]
}

// lookup returns the COW chunk of chunk's exception, if any, and whether
// the snapshot takes I/O now (valid; for a write, not overflowed).
func (s *Snapshot) lookup(chunk uint64, write bool) (newChunk uint64, found bool, err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.valid || write && s.overflowed {
		return 0, false, fmt.Errorf("snapshot %s: %s: %w", s.devName, s.state(), errInvalid)
	}
	newChunk, found = s.exceptions[chunk]
	return newChunk, found, nil
}

// state names why a snapshot refuses I/O (mu held).
func (s *Snapshot) state() string {
	if !s.valid {
		return "invalid"
	}
	return "overflowed"
}

// pieces calls fn for each part of [sector, sector+n) (absolute sectors)
// inside one chunk, with its offset in bytes from the start of the I/O.
func (s *Snapshot) pieces(sector, n uint64, fn func(chunk, sector, n uint64, offBytes int64) error) error {
	cs := s.chunkSectors()
	if cs == 0 {
		return fmt.Errorf("snapshot %s: no chunk size (a handover destination not yet resumed): %w", s.devName, syscall.EIO)
	}
	shift := chunkShift(cs)
	var done uint64
	for done < n {
		k := min(n-done, cs-(sector+done)&(cs-1))
		if err := fn((sector+done)>>shift, sector+done, k, int64(done)*targets.SectorSize); err != nil {
			return err
		}
		done += k
	}
	return nil
}

// cowOffBytes is where sector (inside chunk, remapped to newChunk) is on
// the COW device.
func (s *Snapshot) cowOffBytes(newChunk, sector uint64) int64 {
	cs := s.chunkSectors()
	return int64(newChunk*cs+sector&(cs-1)) * targets.SectorSize
}

// ReadAt is snapshot_map for reads: a chunk with an exception reads from
// the COW device, others from the origin.
func (s *Snapshot) ReadAt(p []byte, sector uint64) error {
	return s.readChunks(p, sector, func(chunk uint64) (uint64, bool, error) { return s.lookup(chunk, false) })
}

// readChunks reads p from the target's sector on, each chunk under its
// read lock: from the COW device where lookup finds the chunk's exception,
// else from the origin.
func (s *Snapshot) readChunks(p []byte, sector uint64, lookup func(chunk uint64) (newChunk uint64, found bool, err error)) error {
	return s.pieces(s.beginSectors+sector, uint64(len(p))/targets.SectorSize, func(chunk, sector, n uint64, off int64) error {
		buf := p[off : off+int64(n)*targets.SectorSize]
		lk := s.chunkLock(chunk)
		lk.RLock()
		defer lk.RUnlock()
		newChunk, found, err := lookup(chunk)
		switch {
		case err != nil:
			return err
		case found:
			_, err = s.cow.ReadAt(buf, s.cowOffBytes(newChunk, sector))
		default:
			_, err = s.origin.ReadAt(buf, int64(sector)*targets.SectorSize)
		}
		return err
	})
}

// WriteAt is snapshot_map for writes: a chunk with an exception is written
// on the COW device; otherwise an exception is made first (a write of the
// whole chunk is the exception's data; a partial one copies the chunk from
// the origin, then writes over the copy).
func (s *Snapshot) WriteAt(p []byte, sector uint64) error { return s.write(p, sector, false) }

// WriteFUA is targets.FUAWriter: snapshot_map remaps a REQ_FUA write as it
// is, so the COW device gets a FUA write: at once to a chunk with an
// exception; for a whole chunk without one, as the exception's data
// (start_full_bio), committed after it; for part of one, after the chunk
// is copied and the exception committed (the bio waits in snapshot_bios).
// A commit is a flush and the metadata area written with FUA.
func (s *Snapshot) WriteFUA(p []byte, sector uint64) error { return s.write(p, sector, true) }

// write is WriteAt, or WriteFUA with fua.
func (s *Snapshot) write(p []byte, sector uint64, fua bool) error {
	return s.pieces(s.beginSectors+sector, uint64(len(p))/targets.SectorSize, func(chunk, sector, n uint64, off int64) error {
		buf := p[off : off+int64(n)*targets.SectorSize]
		lk := s.chunkLock(chunk)
		lk.RLock()
		newChunk, found, err := s.lookup(chunk, true)
		if err == nil && found {
			err = targets.DevWrite(s.cow, buf, s.cowOffBytes(newChunk, sector), fua)
		}
		lk.RUnlock()
		if err != nil || found {
			return err
		}
		lk.Lock()
		defer lk.Unlock()
		newChunk, found, err = s.lookup(chunk, true)
		if err != nil {
			return err
		}
		if found {
			return targets.DevWrite(s.cow, buf, s.cowOffBytes(newChunk, sector), fua)
		}
		var full []byte
		if n == s.chunkSectors() {
			full = buf
		}
		made, err := s.makeExceptions([]uint64{chunk}, full, fua, true)
		if err != nil || full != nil {
			return err
		}
		return targets.DevWrite(s.cow, buf, s.cowOffBytes(made[0], sector), fua)
	})
}

// makeExceptions creates the exceptions of chunks, in order (the caller
// holds their locks for writing): allocation, then each chunk's data on
// the COW device (full, for one whole chunk written to the snapshot, a FUA
// write with fullFUA; or copied from the origin), one commit for them all (the kernel's pending
// exceptions completing together), then the exceptions inserted. A COW
// device too full for a chunk invalidates the snapshot, or for a write to
// a PO snapshot (fromSnapshot) marks it overflowed; the chunks allocated
// before it are committed to an invalid store, which writes nothing.
func (s *Snapshot) makeExceptions(chunks []uint64, full []byte, fullFUA, fromSnapshot bool) ([]uint64, error) {
	s.createMu.Lock()
	defer s.createMu.Unlock()
	s.mu.RLock()
	st := s.store
	s.mu.RUnlock()
	var batch []exception
	var err error
	for _, chunk := range chunks {
		newChunk, perr := st.prepare()
		if perr != nil {
			s.mu.Lock()
			if p, ok := st.(*persistent); fromSnapshot && ok && p.overflow {
				if s.valid && !s.overflowed {
					s.overflowed = true
					s.logf("snapshots: Snapshot overflowed: Unable to allocate exception.")
				}
			} else {
				s.invalidateLocked(syscall.ENOMEM)
			}
			s.mu.Unlock()
			err = fmt.Errorf("snapshot %s: COW device %s full: %w", s.devName, s.cow.Name(), errInvalid)
			break
		}
		batch = append(batch, exception{oldChunk: chunk, newChunk: newChunk})
	}
	var copyErr error
	for i := range batch {
		var e error
		if full != nil {
			e = targets.DevWrite(s.cow, full, s.cowOffBytes(batch[i].newChunk, 0), fullFUA)
		} else {
			e = s.copyChunk(batch[i].oldChunk, batch[i].newChunk)
		}
		batch[i].copied = e == nil
		if copyErr == nil {
			copyErr = e
		}
	}
	ok := len(batch) == 0 || st.commit(batch)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !ok {
		s.invalidateLocked(syscall.EIO)
	}
	if err != nil {
		return nil, err
	}
	if !s.valid {
		if copyErr == nil {
			copyErr = fmt.Errorf("snapshot %s: invalid", s.devName)
		}
		return nil, fmt.Errorf("chunks %v: %v: %w", chunks, copyErr, errInvalid)
	}
	made := make([]uint64, len(batch))
	for i, e := range batch {
		s.exceptions[e.oldChunk] = e.newChunk
		made[i] = e.newChunk
	}
	return made, nil
}

// copyChunk is start_copy: the chunk from the origin to the COW device,
// cut at the origin's end.
func (s *Snapshot) copyChunk(chunk, newChunk uint64) error {
	cs := s.chunkSectors()
	src := chunk * cs
	originSectors := devSectors(s.origin)
	if src >= originSectors {
		return nil
	}
	buf := make([]byte, min(cs, originSectors-src)*targets.SectorSize)
	if _, err := s.origin.ReadAt(buf, int64(src)*targets.SectorSize); err != nil {
		return err
	}
	_, err := s.cow.WriteAt(buf, int64(newChunk*cs)*targets.SectorSize)
	return err
}

// invalidateLocked is __invalidate_snapshot (mu held): the log line, the
// store dropped (the header says invalid), an event.
func (s *Snapshot) invalidateLocked(err syscall.Errno) {
	if !s.valid {
		return
	}
	switch err {
	case syscall.EIO:
		s.logf("snapshots: Invalidating snapshot: Error reading/writing.")
	case syscall.ENOMEM:
		s.logf("snapshots: Invalidating snapshot: Unable to allocate exception.")
	}
	s.store.drop()
	s.valid = false
	s.event()
}

// Discard is snapshot_map for discards (only with discard_zeroes_cow): per
// chunk, the origin gets it with discard_passdown_origin; a chunk with an
// exception has its COW chunk zeroed when the discard covers it, the COW
// range discarded otherwise; a chunk without one is left alone.
func (s *Snapshot) Discard(sector, lenSectors uint64) error {
	return s.pieces(s.beginSectors+sector, lenSectors, func(chunk, sector, n uint64, _ int64) error {
		lk := s.chunkLock(chunk)
		lk.RLock()
		defer lk.RUnlock()
		newChunk, found, err := s.lookup(chunk, true)
		if err != nil {
			return err
		}
		if s.discardPassdownOrigin {
			if err := s.origin.Discard(int64(sector)*targets.SectorSize, int64(n)*targets.SectorSize); err != nil {
				return err
			}
		}
		if !found {
			return nil
		}
		off := s.cowOffBytes(newChunk, sector)
		if n == s.chunkSectors() {
			_, err = s.cow.WriteAt(make([]byte, n*targets.SectorSize), off)
			return err
		}
		return s.cow.Discard(off, int64(n)*targets.SectorSize)
	})
}

// Flush flushes the COW device (the origin is never written through a
// snapshot).
func (s *Snapshot) Flush() error { return s.cow.Flush() }

// originWrite is __origin_write for one snapshot and one origin write of
// lenSectors from sector: before it lands, every chunk it covers gets an
// exception if the snapshot is valid, active and has none, all committed
// together. A failure invalidates the snapshot; the origin write goes on.
func (s *Snapshot) originWrite(sector, lenSectors uint64) {
	end := min(sector+lenSectors, s.beginSectors+s.lenSectors)
	s.mu.RLock()
	cs := s.store.chunkSectors()
	ready := s.valid && s.active && cs != 0 && sector < end
	s.mu.RUnlock()
	if !ready {
		return
	}
	shift := chunkShift(cs)
	first, last := sector>>shift, (end-1)>>shift
	// each stripe once, in ascending order
	var used [chunkLockStripes]bool
	for c := first; c <= last && c-first < chunkLockStripes; c++ {
		used[c%chunkLockStripes] = true
	}
	var stripes []int
	for i, u := range used {
		if u {
			stripes = append(stripes, i)
		}
	}
	for _, i := range stripes {
		s.chunkLocks[i].Lock()
	}
	defer func() {
		for _, i := range stripes {
			s.chunkLocks[i].Unlock()
		}
	}()
	var missing []uint64
	s.mu.RLock()
	if s.valid && s.active {
		for c := first; c <= last; c++ {
			if _, found := s.exceptions[c]; !found {
				missing = append(missing, c)
			}
		}
	}
	s.mu.RUnlock()
	if len(missing) > 0 {
		s.makeExceptions(missing, nil, false, false)
	}
}

package raid

import (
	"errors"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

const sectorBytes = targets.SectorSize

// pageSectors is md's stripe page (STRIPE_SECTORS): parity is computed
// over whole 4 KiB pages of the members.
const pageSectors = 8

// errIO is the error of an I/O the array cannot serve.
var errIO = syscall.EIO

// ReadAt is raid_map for a read: from the member holding the data, or
// rebuilt from the others when it has failed or fails now (md_error marks
// it 'D').
//
// A raid1 leg whose read fails is repaired (fixReadError) with every
// other I/O held off (md freezes the array), then the read is made again;
// the same failure twice fails the leg.
func (r *Raid) ReadAt(p []byte, sector uint64) error {
	fix := r.rt.level == 1
	var last readFailure
	for {
		err := r.readShared(p, sector, fix)
		var rf *readFailure
		if !errors.As(err, &rf) {
			return err
		}
		if *rf == last {
			fix = false
			continue
		}
		last = *rf
		r.ioMu.Lock()
		if r.rs == nil {
			r.fixReadError(rf.disk, rf.sector, rf.lenSectors)
		}
		r.ioMu.Unlock()
	}
}

// readShared is ReadAt's read, ioMu held shared; with fix a raid1 leg's
// failed read is returned as a *readFailure.
func (r *Raid) readShared(p []byte, sector uint64, fix bool) error {
	r.ioMu.RLock()
	defer r.ioMu.RUnlock()
	if err := r.servable(p, sector); err != nil {
		return err
	}
	if r.rs != nil {
		return r.reshapeIO(p, sector, false)
	}
	return r.eachPiece(p, sector, func(p []byte, sector uint64) error { return r.readPiece(p, sector, fix) })
}

// servable refuses I/O past the array md serves, smaller than the table
// while a reshape adds members and until the next load (raid_map
// requeues it: the kernel's I/O waits, gdmsetup's fails), and past the
// array members removed leave (the kernel's capacity shrinks to it:
// rs_set_capacity). ioMu held.
func (r *Raid) servable(p []byte, sector uint64) error {
	if sector+uint64(len(p))/sectorBytes > min(r.mdArraySectors, r.arraySectors) {
		return errIO
	}
	return nil
}

// WriteAt is raid_map for a write: to every copy (raid1, raid10), to the
// member (raid0), or to the data member and the row's parity computed
// again (raid4/5/6). A member whose write fails is marked failed; the
// write fails only when the array can no longer hold it.
func (r *Raid) WriteAt(p []byte, sector uint64) error { return r.write(p, sector, false) }

// WriteFUA is targets.FUAWriter, a write with REQ_FUA as md issues it:
// raid1 and raid10 keep the flag on every leg's write (raid1_write_request,
// raid10_write_one_disk), raid0 on the member's (raid0_make_request remaps
// the bio), raid4/5/6 on the row's data and parity writes (R5_WantFUA,
// ops_run_io). Only the members written get the flag; no member is
// flushed. A journaled array and one reshaping write as WriteAt, then
// Flush (raid5-cache's and the reshape's own ordering are not followed).
func (r *Raid) WriteFUA(p []byte, sector uint64) error {
	r.ioMu.RLock()
	plain := r.jr != nil || r.rs != nil
	r.ioMu.RUnlock()
	if plain {
		if err := r.WriteAt(p, sector); err != nil {
			return err
		}
		return r.Flush()
	}
	return r.write(p, sector, true)
}

// write is WriteAt, with REQ_FUA on the members' writes when fua.
func (r *Raid) write(p []byte, sector uint64, fua bool) error {
	r.ioMu.RLock()
	defer r.ioMu.RUnlock()
	if err := r.servable(p, sector); err != nil {
		return err
	}
	r.markDirty(sector, uint64(len(p))/sectorBytes)
	if r.rs != nil {
		return r.reshapeIO(p, sector, true)
	}
	if r.rt.level >= 4 && r.rt.level <= 6 {
		return r.writeRows(p, sector, fua)
	}
	return r.eachPiece(p, sector, func(p []byte, sector uint64) error { return r.writePiece(p, sector, fua) })
}

// eachPiece cuts an I/O at chunk boundaries (levels with chunks).
func (r *Raid) eachPiece(p []byte, sector uint64, do func([]byte, uint64) error) error {
	for len(p) > 0 {
		n := uint64(len(p)) / sectorBytes
		if r.chunkSectors != 0 {
			n = min(n, r.chunkSectors-sector%r.chunkSectors)
		}
		if err := do(p[:n*sectorBytes], sector); err != nil {
			return err
		}
		p, sector = p[n*sectorBytes:], sector+n
	}
	return nil
}

// copies is where every copy of a piece lives (raid0, raid1, raid10).
func (r *Raid) copies(sector uint64) []loc {
	switch r.rt.level {
	case 0:
		return []loc{r.raid0Loc(sector)}
	case 1:
		locs := make([]loc, len(r.members))
		for i := range locs {
			locs[i] = loc{i, sector}
		}
		return locs
	}
	return r.raid10Locs(sector)
}

// readPiece reads a piece within a chunk: raid4/5/6 from its row, the
// others from the first copy that reads (readCopy).
func (r *Raid) readPiece(p []byte, sector uint64, fix bool) error {
	if r.rt.level >= 4 && r.rt.level <= 6 {
		return r.readParity(p, sector)
	}
	return r.readCopy(p, sector, fix)
}

// readOrder is read_balance's choice, simplified: the copies on members
// that can serve the range, write-mostly members last.
func (r *Raid) readOrder(locs []loc, lenSectors uint64) []loc {
	r.mu.Lock()
	defer r.mu.Unlock()
	var first, last []loc
	for _, l := range locs {
		m := r.members[l.disk]
		if !m.usable() || !m.inSync && m.recoveryOffset < l.sector+lenSectors {
			continue
		}
		if m.writeMostly {
			last = append(last, l)
		} else {
			first = append(first, l)
		}
	}
	return append(first, last...)
}

// writePiece writes a piece within a chunk to every copy (raid0, raid1,
// raid10), with FUA when fua.
func (r *Raid) writePiece(p []byte, sector uint64, fua bool) error {
	locs := r.copies(sector)
	var written atomic.Int32
	parallel(len(locs), func(i int) {
		l := locs[i]
		if !r.usable(l.disk) {
			return
		}
		if err := targets.DevWrite(r.members[l.disk].data, p, int64(l.sector)*sectorBytes, fua); err != nil {
			r.fail(l.disk)
			return
		}
		written.Add(1)
	})
	if written.Load() == 0 {
		return errIO
	}
	return nil
}

// parallel runs do(i) for every i below n at once and waits for them.
func parallel(n int, do func(i int)) {
	if n == 1 {
		do(0)
		return
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			do(i)
		}()
	}
	wg.Wait()
}

// holds reports whether member i holds its data over lenSectors from
// its sector at: it takes I/O and is in sync, or recovered past them.
func (r *Raid) holds(i int, at, lenSectors uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.members[i]
	return m.usable() && (m.inSync || m.recoveryOffset >= at+lenSectors)
}

// usable reports whether member i takes I/O.
func (r *Raid) usable(i int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.members[i].usable()
}

// fail is md_error: the member is marked failed, the superblocks record
// it and the table event is raised. md keeps the last member able to
// serve the array's data; so does this (the I/O just fails).
func (r *Raid) fail(i int) {
	r.mu.Lock()
	m := r.members[i]
	if m.faulty || m.data == nil {
		r.mu.Unlock()
		return
	}
	if r.rt.level == 0 || r.rt.level == 1 && m.inSync && r.inSyncMembers() == 1 {
		// raid0 fails no member; raid1 keeps its last one
		r.mu.Unlock()
		return
	}
	m.faulty = true
	r.mu.Unlock()
	r.writeSuperblocks()
	r.event()
}

// inSyncMembers counts the members holding all their data. mu held.
func (r *Raid) inSyncMembers() int {
	n := 0
	for _, m := range r.members {
		if m.usable() && m.inSync {
			n++
		}
	}
	return n
}

// maxDegraded is how many members the level can lose.
func (r *Raid) maxDegraded() int {
	switch r.rt.level {
	case 0:
		return 0
	case 1:
		return len(r.members) - 1
	case 10:
		return r.raid10Copies - 1
	}
	return r.rt.parityDevs
}

// failedCount is how many members hold nothing usable.
func (r *Raid) failedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.members {
		if !m.usable() {
			n++
		}
	}
	return n
}

// SupportsDiscards is num_discard_bios as configure_discard_support sets
// it: raid0/1/10 whose members all take discards.
func (r *Raid) SupportsDiscards() bool { return r.discards }

// Discard discards every copy (raid0/1/10); raid4/5/6 take none (see
// SupportsDiscards).
func (r *Raid) Discard(sector, lenSectors uint64) error {
	if !r.discards {
		return nil
	}
	r.ioMu.RLock()
	defer r.ioMu.RUnlock()
	for lenSectors > 0 {
		n := lenSectors
		if r.chunkSectors != 0 {
			n = min(n, r.chunkSectors-sector%r.chunkSectors)
		}
		for _, l := range r.copies(sector) {
			if r.usable(l.disk) {
				r.members[l.disk].data.Discard(int64(l.sector)*sectorBytes, int64(n)*sectorBytes)
			}
		}
		sector, lenSectors = sector+n, lenSectors-n
	}
	return nil
}

// Flush is md_flush_request: an empty flush to every member that takes
// I/O (submit_flushes), once the writes in flight have ended; then the
// bitmap forgets the regions written before (md's bitmap daemon does it
// on its own clock, daemon_sleep: see flushBitmap).
func (r *Raid) Flush() error { return r.flush(false) }

// flush is Flush; all cleans every region of the bitmap (a stop: see
// quiesce).
func (r *Raid) flush(all bool) error {
	r.ioMu.Lock()
	defer r.ioMu.Unlock()
	if err := r.flushMembers(); err != nil {
		return err
	}
	return r.flushBitmap(all)
}

// flushMembers flushes every member that takes I/O; one that fails is
// failed. The error is theirs when the array can no longer hold its data.
func (r *Raid) flushMembers() error {
	errs := make([]error, len(r.members))
	parallel(len(r.members), func(i int) {
		if r.usable(i) {
			if errs[i] = r.members[i].data.Flush(); errs[i] != nil {
				r.fail(i)
			}
		}
	})
	if r.failedCount() > r.maxDegraded() {
		return errors.Join(errs...)
	}
	return nil
}

// MaxIOSectors is dm_set_target_max_io_len: the chunk size, or raid1's
// region size as given. raid4/5/6 take whole writes (0: no limit) and cut
// them into rows themselves, as md gathers a stripe's chunks written
// together into one stripe head.
func (r *Raid) MaxIOSectors() uint64 {
	if r.rt.level >= 4 && r.rt.level <= 6 {
		return 0
	}
	if r.chunkSectors != 0 {
		return r.chunkSectors
	}
	return r.regionRequested
}

// Areas is raid_iterate_devices: every data device, devSectors of it.
func (r *Raid) Areas() []targets.Area {
	var out []targets.Area
	for _, m := range r.members {
		if m.data != nil {
			out = append(out, targets.Area{Dev: m.data, LenSectors: r.devSectors})
		}
	}
	return out
}

// IOHints is raid_io_hints: io_opt is the chunk size times the data
// members.
func (r *Raid) IOHints(int64) int64 {
	return int64(r.chunkSectors) * sectorBytes * int64(len(r.members)-r.rt.parityDevs)
}

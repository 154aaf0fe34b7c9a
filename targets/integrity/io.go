package integrity

import (
	"syscall"
	"time"

	"github.com/gdmsetup/gdmsetup/targets"
)

// ReadAt is a read bio: from the journal where it holds the newest copy
// of a block (mode J), else from the data device with each block's tag
// checked (not in mode R, not past recalc_sector while recalculating, not
// in a region mode B's bitmap says is being recalculated). A mismatch
// fails the read with EILSEQ, is counted and logged. Its sectors are
// locked for its run; the data device and the tags are read outside mu.
func (x *Integrity) ReadAt(p []byte, sector uint64) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	r, err := x.begin(sector, uint64(len(p))/512, rangeIO)
	if err != nil {
		return err
	}
	defer x.ranges.unlock(r)
	if x.j == nil || x.cfg.mode != 'J' {
		return x.readDisk(p, sector)
	}
	bs := x.geo.blockSectors()
	for len(p) > 0 {
		if pos, ok := x.j.latest(sector); ok {
			x.j.readEntry(p[:bs*512], pos)
			p, sector = p[bs*512:], sector+bs
			continue
		}
		n := bs
		for n*512 < uint64(len(p)) {
			if _, ok := x.j.latest(sector + n); ok {
				break
			}
			n += bs
		}
		if err := x.readDisk(p[:n*512], sector); err != nil {
			return err
		}
		p, sector = p[n*512:], sector+n
	}
	return nil
}

// begin is dm_integrity_map's checks of an I/O of kind on [sector, +n),
// then its sectors locked (waiting for the I/O on any of them to end).
// The caller holds mu, and unlocks the range when the I/O ends.
func (x *Integrity) begin(sector, n uint64, kind rangeKind) (*sectorRange, error) {
	if err := x.check(sector, n); err != nil {
		return nil, err
	}
	return x.ranges.lock(sector, n, kind), nil
}

// checksumFailedLimit is the rate limit of the "Checksum failed" line
// (DMERR_LIMIT).
var checksumFailedLimit = new(targets.RateLimit)

// check refuses I/O once the target has failed and I/O not aligned on
// blocks, as dm_integrity_map does.
func (x *Integrity) check(sector, nSectors uint64) error {
	if x.failed != 0 {
		return x.failed
	}
	bs := x.geo.blockSectors()
	if (sector|nSectors)&(bs-1) != 0 {
		x.ctx.Logf("integrity: Bio not aligned on %d sectors: 0x%x, 0x%x", bs, sector, nSectors)
		return syscall.EIO
	}
	return nil
}

// readDisk reads blocks of one area from the data device and checks
// their tags. The caller holds mu and the blocks' range; mu is released
// while the devices are read and the checksums computed.
func (x *Integrity) readDisk(p []byte, sector uint64) error {
	n := uint64(len(p)) / 512
	verify := x.hash != nil && x.cfg.mode != 'R' &&
		!(x.sb.has(flagRecalculating) && sector+n > x.sb.recalcSector()) &&
		(x.bitmap == nil || x.bitmap.recalc.allClear(sector, n))
	x.mu.Unlock()
	bad, tagErr, err := x.readVerified(p, sector, verify)
	x.mu.Lock()
	switch {
	case err != nil:
		return err
	case tagErr != nil:
		x.ioError("reading tags", errnoOf(tagErr))
		return x.failed
	case bad >= 0:
		if checksumFailedLimit.Allow(time.Now()) {
			x.ctx.Logf("integrity: %s: Checksum failed at sector 0x%x", x.dmName, sector+uint64(bad)*x.geo.blockSectors())
		}
		x.mismatches.Add(1)
		return syscall.EILSEQ
	}
	return nil
}

// readVerified is readDisk's part outside mu: the blocks read from the
// data device (err, an errno), and when verify their tags read (tagErr)
// and compared with their checksums: bad is the index of the first block
// that does not match, -1 when none.
func (x *Integrity) readVerified(p []byte, sector uint64, verify bool) (bad int, tagErr, err error) {
	a := x.geo.areaOffset(sector)
	if _, err := x.dev.ReadAt(p, int64(x.geo.dataSector(a))*512); err != nil {
		return -1, nil, errnoOf(err)
	}
	if !verify {
		return -1, nil, nil
	}
	want := x.checksums(p, sector)
	stored, err := x.readTags(a, len(want)/int(x.geo.tagSize))
	if err != nil {
		return -1, err, nil
	}
	return x.firstMismatch(stored, want), nil, nil
}

// WriteAt is a write bio: into the journal in mode J, else data and tags
// in place (mode B marks the region dirty in the bitmap first). Mode R
// takes no writes. Its sectors are locked for its run; the checksums are
// computed, and in modes D and B the data and tags written, outside mu.
func (x *Integrity) WriteAt(p []byte, sector uint64) error {
	if x.cfg.mode == 'R' {
		return syscall.EIO
	}
	n := uint64(len(p)) / 512
	kind := rangeIO
	if x.cfg.mode == 'J' {
		kind = rangeJournalWrite
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	r, err := x.begin(sector, n, kind)
	if err != nil {
		return err
	}
	defer x.ranges.unlock(r)
	if x.cfg.mode == 'J' {
		x.mu.Unlock()
		var tags []byte
		if x.hash != nil {
			tags = x.checksums(p, sector)
		}
		x.mu.Lock()
		x.j.writeBlocks(p, sector, tags)
		return errOrNil(x.failed)
	}
	if x.bitmap != nil {
		x.bitmap.markDirty(sector, n)
		if x.failed != 0 {
			return x.failed
		}
	}
	x.mu.Unlock()
	tagErr, err := x.writeInPlace(p, sector)
	x.mu.Lock()
	switch {
	case err != nil:
		return err
	case tagErr != nil:
		x.ioError("writing tags", errnoOf(tagErr))
		return x.failed
	}
	x.scheduleAutocommit()
	return nil
}

// writeInPlace is WriteAt's part outside mu in modes D and B: the blocks
// written to the data device (err, an errno), then their tags (tagErr).
func (x *Integrity) writeInPlace(p []byte, sector uint64) (tagErr, err error) {
	a := x.geo.areaOffset(sector)
	if _, err := x.dev.WriteAt(p, int64(x.geo.dataSector(a))*512); err != nil {
		return nil, errnoOf(err)
	}
	if x.hash == nil {
		return nil, nil
	}
	return x.writeTags(a, x.checksums(p, sector)), nil
}

// Discard is a discard bio (allow_discards): the blocks' tags filled with
// discardFiller and the data discarded. In mode J, when the journal holds
// blocks of the range, the range is let go, the journal committed and
// written into place (the writer waits for the range), and the range
// locked again, once, as dm_integrity_map_continue's discard_retried. It
// runs under mu with its sectors locked.
func (x *Integrity) Discard(sector, lenSectors uint64) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.cfg.mode == 'R' || !x.cfg.discards {
		return syscall.EIO
	}
	r, err := x.begin(sector, lenSectors, rangeIO)
	if err != nil {
		return err
	}
	if x.cfg.mode == 'J' && x.j.holdsAny(sector, lenSectors) {
		x.ranges.unlock(r)
		x.j.commit()
		x.j.drainWriter()
		if r, err = x.begin(sector, lenSectors, rangeIO); err != nil {
			return err
		}
	}
	defer x.ranges.unlock(r)
	if x.bitmap != nil {
		x.bitmap.markDirty(sector, lenSectors)
	}
	a := x.geo.areaOffset(sector)
	filler := make([]byte, lenSectors>>x.geo.log2Block*uint64(x.geo.tagSize))
	for k := range filler {
		filler[k] = discardFiller
	}
	if err := x.writeTags(a, filler); err != nil {
		x.ioError("writing tags", errnoOf(err))
		return x.failed
	}
	if x.cfg.mode != 'D' {
		x.flushBuffers(false)
	}
	if err := x.dev.Discard(int64(x.geo.dataSector(a))*512, int64(lenSectors)*512); err != nil {
		return errnoOf(err)
	}
	x.scheduleAutocommit()
	return errOrNil(x.failed)
}

// SupportsDiscards is num_discard_bios: with allow_discards, when the data
// device takes them.
func (x *Integrity) SupportsDiscards() bool {
	return x.cfg.discards && targets.DevSupportsDiscards(x.dev)
}

// Flush is a flush bio: integrity_commit (the journal committed in mode
// J, written with FUA; the metadata flushed in the others, the data device
// too when it is separate). The flush bio itself goes no further.
//
// A FUA write is a write then Flush (targets.WriteFUA's default): 6.1's
// dm_integrity_map clears REQ_FUA and do_endio_flush sends the completed
// write through submit_flush_bio, as a flush bio.
func (x *Integrity) Flush() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.failed != 0 {
		return x.failed
	}
	x.commit()
	return errOrNil(x.failed)
}

// commit is integrity_commit: the journal's filled sections committed in
// mode J, the metadata flushed in the others.
func (x *Integrity) commit() {
	x.stopAutocommit()
	if x.cfg.mode == 'J' {
		x.j.commit()
		return
	}
	x.flushBuffers(true)
}

// flushBuffers is dm_integrity_flush_buffers: the tags written (they are
// written through here) and the metadata device flushed; with a separate
// metadata device the data device too when asked. The caller holds mu.
func (x *Integrity) flushBuffers(flushData bool) {
	if what, errno := x.flushDevs(flushData); errno != 0 {
		x.ioError(what, errno)
	}
}

// flushDevs is flushBuffers' I/O, which needs no lock: the first error
// it met (what failed and its errno), errno 0 when none.
func (x *Integrity) flushDevs(flushData bool) (what string, errno syscall.Errno) {
	if err := x.metaDev.Flush(); err != nil {
		what, errno = "writing tags", errnoOf(err)
	}
	if flushData && x.geo.metaDev {
		if err := x.dev.Flush(); err != nil && errno == 0 {
			what, errno = "flushing disk cache", syscall.EIO
		}
	}
	return what, errno
}

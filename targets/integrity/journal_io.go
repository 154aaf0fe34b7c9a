package integrity

import (
	"encoding/binary"
	"syscall"
)

// writeBlocks is a write in mode J (dm_integrity_map_continue and
// __journal_read_write): each block takes the next free entry: its data
// into the entry's data sectors (their last 8 bytes kept in the entry,
// the sector's own last 8 bytes being its commit id), its tag (from tags,
// the blocks' checksums, nil without internal_hash), its sector. As much
// of the write as there are free entries goes in at a time, and with
// none free it waits for the writer to free some (sleep_on_endio_wait);
// below the watermark the journal is committed and the writer started,
// unless a commit or the writer runs: the writer commits what was written
// meanwhile when it is done (a commit here at each write would close a
// section each time).
func (j *journal) writeBlocks(p []byte, sector uint64, tags []byte) {
	x, g := j.x, j.g
	bs := g.blockSectors()
	for len(p) > 0 && x.failed == 0 {
		for j.freeSectors == 0 && x.failed == 0 {
			j.commit() // mu released meanwhile: the writer may have freed some
			j.kickWriter()
			switch {
			case j.freeSectors > 0: // freed meanwhile
			case j.writing:
				j.progress.Wait()
			default: // nothing committed to free
				x.ioError("writing journal", syscall.EIO)
				return
			}
		}
		if x.failed != 0 {
			return
		}
		n := min(uint32(uint64(len(p))/(bs*512)), j.freeSectors)
		j.freeSectors -= n
		section, entry := j.freeSection, j.freeSectionEntry
		next := j.freeSectionEntry + n
		j.freeSectionEntry = next % g.sectionEntries
		j.freeSection += next / g.sectionEntries
		j.nUncommitted += next / g.sectionEntries
		j.freeSection = j.wrap(j.freeSection)
		for k := uint32(0); k < n; k++ {
			j.addNode(sector, section*g.sectionEntries+entry)
			var tag []byte
			if tags != nil {
				tag, tags = tags[:g.tagSize], tags[g.tagSize:]
			}
			j.fillEntry(section, entry, sector, p[:bs*512], tag)
			p, sector = p[bs*512:], sector+bs
			entry++
			if entry == g.sectionEntries {
				entry = 0
				section = j.wrap(section + 1)
			}
		}
		if j.freeSectors <= j.threshold && !j.writing && !j.committing {
			j.commit()
		} else {
			x.scheduleAutocommit()
		}
	}
}

// fillEntry writes one block and its tag (nil: zeros) into entry e of a
// section.
func (j *journal) fillEntry(section, e uint32, sector uint64, block, tag []byte) {
	eo := j.entryOff(section, e)
	do := j.dataOff(section, e)
	copy(j.buf[do:], block)
	for s := 0; s < int(j.g.blockSectors()); s++ {
		copy(j.buf[eo+8+8*s:eo+16+8*s], j.buf[do+s*512+journalSectorData:do+(s+1)*512])
	}
	clear(j.buf[j.tagOff(eo):][:j.g.tagSize])
	copy(j.buf[j.tagOff(eo):], tag)
	binary.LittleEndian.PutUint64(j.buf[eo:], sector)
}

// readEntry copies the block at journal position pos into p: its data
// sectors with their last 8 bytes from the entry.
func (j *journal) readEntry(p []byte, pos uint32) {
	section, e := pos/j.g.sectionEntries, pos%j.g.sectionEntries
	eo := j.entryOff(section, e)
	do := j.dataOff(section, e)
	for s := 0; s < len(p)/512; s++ {
		copy(p[s*512:s*512+journalSectorData], j.buf[do+s*512:])
		copy(p[s*512+journalSectorData:(s+1)*512], j.buf[eo+8+8*s:eo+16+8*s])
	}
}

// holdsAny reports whether the journal holds a block of [sector, +n).
func (j *journal) holdsAny(sector, n uint64) bool {
	for s := range j.nodes {
		if s >= sector && s < sector+n {
			return true
		}
	}
	return false
}

// padUncommitted is pad_uncommitted: the section being filled is closed.
func (j *journal) padUncommitted() {
	if j.freeSectionEntry != 0 {
		j.freeSectors -= j.g.sectionEntries - j.freeSectionEntry
		j.freeSectionEntry = 0
		j.freeSection = j.wrap(j.freeSection + 1)
		j.nUncommitted++
	}
}

// stampUncommitted sets the commit ids of n sections from start as the
// commit of them does, the pass moving on when the journal wraps; it
// returns the pass after them.
func (j *journal) stampUncommitted(start, n uint32, seq uint8) uint8 {
	i := start
	for k := uint32(0); k < n; k++ {
		for s := uint32(0); s < j.g.sectionSectors; s++ {
			j.setCommitID(i, s, seq)
		}
		i++
		if i >= j.g.journalSections {
			seq = nextSeq(seq)
		}
		i = j.wrap(i)
	}
	return seq
}

// commit is integrity_commit in mode J: the filled sections get their
// commit ids and are written and flushed with mu released, new writes
// going on into the free sections meanwhile; once on the device they are
// committed, and below the watermark the writer starts writing them into
// place. One commit runs at a time: a second waits for the first, then
// commits what was filled since. The caller holds mu.
func (j *journal) commit() {
	x := j.x
	x.stopAutocommit()
	for j.committing {
		j.progress.Wait()
	}
	j.padUncommitted()
	start, n := j.uncommittedSection, j.nUncommitted
	if n == 0 {
		return
	}
	j.wroteToJournal = true
	j.commitSeq = j.stampUncommitted(start, n, j.commitSeq)
	ios := j.seal(start, n)
	j.committing = true
	x.mu.Unlock()
	err := j.writeOut(ios)
	x.mu.Lock()
	j.committing = false
	j.progress.Broadcast()
	if err != nil {
		x.ioError("writing journal", syscall.EIO)
	}
	j.uncommittedSection = j.wrap(j.uncommittedSection + n)
	j.nUncommitted -= n
	j.nCommitted += n
	if j.freeSectors <= j.threshold {
		j.kickWriter()
	}
}

package integrity

import (
	"encoding/binary"
	"syscall"
)

// writeBlocks is a write in mode J (dm_integrity_map_continue and
// __journal_read_write): each block takes the next free entry: its data
// into the entry's data sectors (their last 8 bytes kept in the entry,
// the sector's own last 8 bytes being its commit id), its tag (from tags,
// the blocks' checksums, nil without internal_hash), its sector. As much of the write as there are free entries goes in at a
// time; below the watermark the journal is committed, and written into
// place when still below it.
func (j *journal) writeBlocks(p []byte, sector uint64, tags []byte) {
	x, g := j.x, j.g
	bs := g.blockSectors()
	for len(p) > 0 && x.failed == 0 {
		if j.freeSectors == 0 {
			j.commit()
			j.writer()
			if j.freeSectors == 0 {
				x.ioError("writing journal", syscall.EIO)
				return
			}
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
		if j.freeSectors <= j.threshold {
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
// commit ids and are written; below the watermark they are then written
// into place.
func (j *journal) commit() {
	j.x.stopAutocommit()
	j.padUncommitted()
	start, n := j.uncommittedSection, j.nUncommitted
	if n == 0 {
		return
	}
	j.wroteToJournal = true
	j.commitSeq = j.stampUncommitted(start, n, j.commitSeq)
	j.write(start, n)
	j.uncommittedSection = j.wrap(j.uncommittedSection + n)
	j.nUncommitted -= n
	j.nCommitted += n
	if j.freeSectors <= j.threshold {
		j.writer()
	}
}

// writer is integrity_writer: every committed section written into place.
func (j *journal) writer() {
	n := j.nCommitted
	if n == 0 {
		return
	}
	j.writeBack(j.committedSection, n, false)
	j.committedSection = j.wrap(j.committedSection + n)
	j.nCommitted -= n
	j.freeSectors += n * j.g.sectionEntries
}

// restoreLastBytes is restore_last_bytes: entry eo's data sectors get
// their own last 8 bytes back in place of the commit ids.
func (j *journal) restoreLastBytes(section, e uint32) {
	eo, do := j.entryOff(section, e), j.dataOff(section, e)
	for s := 0; s < int(j.g.blockSectors()); s++ {
		copy(j.buf[do+s*512+journalSectorData:do+(s+1)*512], j.buf[eo+8+8*s:eo+16+8*s])
	}
}

// writeBack is do_journal_write: the entries of n sections from start
// written to their places, runs of consecutive sectors of one area at a
// time, data then tags; entries a newer committed entry overwrites are
// skipped at a run's ends. From a replay the section MACs and the tags
// are checked, and sectors outside the device dropped.
func (j *journal) writeBack(start, n uint32, fromReplay bool) {
	x, g := j.x, j.g
	bs := g.blockSectors()
	i := start
	for k := uint32(0); k < n; k, i = k+1, j.wrap(i+1) {
		if fromReplay {
			j.sectionMAC(i, false)
		}
		for e := uint32(0); e < g.sectionEntries; e++ {
			eo := j.entryOff(i, e)
			if j.entryHi(eo) == entryUnused {
				continue
			}
			sec := j.entrySector(eo)
			if fromReplay {
				if sec&(bs-1) != 0 {
					x.ioError("invalid sector in journal", syscall.EIO)
					sec &^= bs - 1
				}
				if sec >= g.provided {
					j.setEntryHi(eo, entryUnused)
					continue
				}
			}
			a := g.areaOffset(sec)
			j.restoreLastBytes(i, e)
			end := e + 1
			for ; end < g.sectionEntries; end++ {
				eo2 := j.entryOff(i, end)
				if j.entryHi(eo2) == entryUnused {
					break
				}
				sec2 := j.entrySector(eo2)
				if sec2 >= g.provided {
					break
				}
				a2 := g.areaOffset(sec2)
				if a2.n != a.n || a2.offset != a.offset+uint64(end-e)<<g.log2Block {
					break
				}
				j.restoreLastBytes(i, end)
			}
			next := end - 1
			first := e
			if !fromReplay {
				base := i * g.sectionEntries
				for first < end && j.newerCommitted(j.entrySector(j.entryOff(i, first)), base+first) {
					j.setEntryHi(j.entryOff(i, first), entryUnused)
					j.removeNode(sec, base+first)
					first++
					sec += bs
					a.offset += bs
				}
				for first < end && j.newerCommitted(j.entrySector(j.entryOff(i, end-1)), base+end-1) {
					s2 := j.entrySector(j.entryOff(i, end-1))
					j.setEntryHi(j.entryOff(i, end-1), entryUnused)
					j.removeNode(s2, base+end-1)
					end--
				}
				for l := first; l < end; l++ {
					j.removeNode(sec+uint64(l-first)*bs, base+l)
				}
			}
			if first < end {
				j.placeRun(i, first, end, sec, a, fromReplay)
			}
			e = next
		}
	}
	x.flushBuffers(true)
	if err := x.dev.Flush(); err != nil {
		x.ioError("copying from journal", syscall.EIO)
	}
}

// placeRun writes entries [first, end) of a section, sectors from sec on
// in area a, into place: their tags, then their data.
func (j *journal) placeRun(section, first, end uint32, sec uint64, a area, fromReplay bool) {
	x, g := j.x, j.g
	bs := g.blockSectors()
	tags := make([]byte, 0, int(end-first)*int(g.tagSize))
	for l := first; l < end; l++ {
		eo := j.entryOff(section, l)
		tag := j.buf[j.tagOff(eo):][:g.tagSize]
		if fromReplay && x.hash != nil {
			do := j.dataOff(section, l)
			want := x.checksum(nil, sec+uint64(l-first)*bs, j.buf[do:do+int(bs)*512])
			if string(want) != string(tag) {
				x.ioError("tag mismatch when replaying journal", syscall.EILSEQ)
			}
		}
		j.setEntryHi(eo, entryUnused)
		tags = append(tags, tag...)
	}
	if err := x.writeTags(a, tags); err != nil {
		x.ioError("reading tags", errnoOf(err))
	}
	if x.failed != 0 {
		x.ioError("copying from journal", syscall.EIO)
		return
	}
	do := j.dataOff(section, first)
	data := j.buf[do : do+int(end-first)*int(bs)*512]
	if _, err := x.dev.WriteAt(data, int64(g.dataSector(a))*512); err != nil {
		x.ioError("copying from journal", syscall.EIO)
	}
}

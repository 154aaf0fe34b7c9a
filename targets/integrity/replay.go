package integrity

import "syscall"

// findCommitSeq is find_commit_seq: the pass whose id sector s of a
// section holds, or -1 (an I/O error) when none does.
func (j *journal) findCommitSeq(section, s uint32) int {
	id := j.commitIDAt(section, s)
	for k := uint8(0); k < nCommitIDs; k++ {
		if j.commitID(section, s, k) == id {
			return int(k)
		}
	}
	j.x.ioError("journal commit id", syscall.EIO)
	return -1
}

// replay is replay_journal: the journal read back (unless the table
// formatted it), the sections of the last complete pass found from the
// commit ids and written into place; then the journal either goes on
// from there (mode J, every section consistent) or is emptied.
func (j *journal) replay() {
	x, g := j.x, j.g
	if !x.justFormatted {
		j.readAll()
	}
	var used [nCommitIDs]bool
	var maxSection [nCommitIDs]uint32
	var lastUsed, want uint8
	var writeStart, writeSections uint32
	empty := true
	if x.failed != 0 {
		j.clear(writeStart, lastUsed)
		return
	}
	for i := uint32(0); i < g.journalSections; i++ {
		for s := uint32(0); s < g.sectionSectors; s++ {
			k := j.findCommitSeq(i, s)
			if k < 0 {
				j.clear(writeStart, lastUsed)
				return
			}
			used[k] = true
			maxSection[k] = i
		}
		if empty {
			for e := uint32(0); e < g.sectionEntries; e++ {
				if j.entryHi(j.entryOff(i, e)) != entryUnused {
					empty = false
					break
				}
			}
		}
	}
	var unused uint8
	if !used[nCommitIDs-1] {
		unused = nCommitIDs - 1
		for unused > 0 && !used[unused-1] {
			unused--
		}
	} else {
		for unused < nCommitIDs && used[unused] {
			unused++
		}
		if unused == nCommitIDs {
			x.ioError("journal commit ids", syscall.EIO)
			j.clear(writeStart, lastUsed)
			return
		}
	}
	lastUsed = prevSeq(unused)
	want = prevSeq(lastUsed)
	if !used[want] && used[prevSeq(want)] {
		empty = true
	}
	writeStart = maxSection[lastUsed] + 1
	if writeStart >= g.journalSections {
		want = nextSeq(want)
	}
	writeStart = j.wrap(writeStart)
	i := writeStart
scan:
	for ; writeSections < g.journalSections; writeSections++ {
		for s := uint32(0); s < g.sectionSectors; s++ {
			if j.commitIDAt(i, s) != j.commitID(i, s, want) {
				break scan
			}
		}
		i++
		if i >= g.journalSections {
			want = nextSeq(want)
		}
		i = j.wrap(i)
	}
	if !empty {
		j.writeBack(writeStart, writeSections, true)
	}
	if writeSections == g.journalSections && (x.cfg.mode == 'J' || empty) {
		j.commitSeq = want
		j.resetPositions(writeStart)
		return
	}
	j.clear(writeStart, lastUsed)
}

// clear is replay_journal's clear_journal: every section emptied with the
// pass two before the last one used, from writeStart on.
func (j *journal) clear(writeStart uint32, lastUsed uint8) {
	g := j.g
	erase := prevSeq(prevSeq(lastUsed))
	s := writeStart
	j.initSections(s, 1, erase)
	s = j.wrap(s + 1)
	if g.journalSections >= 2 {
		j.initSections(s, g.journalSections-2, erase)
		s = j.wrap(s + g.journalSections - 2)
		j.initSections(s, 1, erase)
	}
	j.commitSeq = nextSeq(erase)
	j.resetPositions(0)
}

// resetPositions empties the journal's bookkeeping from section start.
func (j *journal) resetPositions(start uint32) {
	j.committedSection, j.nCommitted = start, 0
	j.uncommittedSection, j.nUncommitted = start, 0
	j.freeSection, j.freeSectionEntry = start, 0
	j.freeSectors = j.g.journalEntries
	j.nodes = map[uint64][]uint32{}
}

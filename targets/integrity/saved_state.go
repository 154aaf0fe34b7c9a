package integrity

import (
	"encoding/hex"
	"encoding/json"
	"syscall"
)

// savedState is what the kernel keeps in struct dm_integrity_c while the
// table is live and the device does not hold: the superblock as in core
// (the recalculation's position), the journal's positions (its contents
// are on the device: StopBackground wrote the uncommitted sections), the
// mismatch count and the error.
type savedState struct {
	Superblock         string `json:"superblock"`
	Mismatches         uint64 `json:"mismatches"`
	Failed             int    `json:"failed"`
	Uptodate           bool   `json:"journal_uptodate"`
	CommitSeq          uint8  `json:"commit_seq"`
	CommittedSection   uint32 `json:"committed_section"`
	NCommitted         uint32 `json:"n_committed"`
	UncommittedSection uint32 `json:"uncommitted_section"`
	NUncommitted       uint32 `json:"n_uncommitted"`
	FreeSection        uint32 `json:"free_section"`
	FreeSectionEntry   uint32 `json:"free_section_entry"`
	FreeSectors        uint32 `json:"free_sectors"`
	WroteToJournal     bool   `json:"wrote_to_journal"`
}

// SaveState is targets.StateSaver.
func (x *Integrity) SaveState() string {
	x.mu.Lock()
	defer x.mu.Unlock()
	s := savedState{Superblock: hex.EncodeToString(x.sb[:512]), Mismatches: x.mismatches.Load(),
		Failed: int(x.failed), Uptodate: x.journalUptodate}
	if j := x.j; j != nil {
		s.CommitSeq, s.CommittedSection, s.NCommitted = j.commitSeq, j.committedSection, j.nCommitted
		s.UncommittedSection, s.NUncommitted = j.uncommittedSection, j.nUncommitted
		s.FreeSection, s.FreeSectionEntry, s.FreeSectors = j.freeSection, j.freeSectionEntry, j.freeSectors
		s.WroteToJournal = j.wroteToJournal
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// restore rebuilds a live table's in-core state in a later process: what
// SaveState kept, the journal read back from the device. Sections the
// journal had written into place are in core as the writer left them
// (their entries unused, the data sectors' last bytes put back); the
// others are as on the device. A table left suspended was emptied by
// its suspend. Recalculation goes on.
func (x *Integrity) restore() {
	var s savedState
	if x.ctx.Saved == "" || json.Unmarshal([]byte(x.ctx.Saved), &s) != nil {
		if !x.ctx.Inactive && !x.ctx.Suspended {
			// the journal's replay releases mu for its I/O
			x.mu.Lock()
			x.resume()
			x.mu.Unlock()
		}
		return
	}
	if sb, err := hex.DecodeString(s.Superblock); err == nil && len(sb) == 512 {
		copy(x.sb, sb)
		x.adoptInterleave()
	}
	x.mismatches.Store(s.Mismatches)
	x.failed = syscall.Errno(s.Failed)
	x.journalUptodate = s.Uptodate
	x.justFormatted = false
	x.suspended = x.ctx.Suspended
	if j := x.j; j != nil && !x.ctx.Inactive {
		j.commitSeq, j.committedSection, j.nCommitted = s.CommitSeq, s.CommittedSection, s.NCommitted
		j.uncommittedSection, j.nUncommitted = s.UncommittedSection, s.NUncommitted
		j.freeSection, j.freeSectionEntry, j.freeSectors = s.FreeSection, s.FreeSectionEntry, s.FreeSectors
		j.wroteToJournal = s.WroteToJournal
		j.readAll()
		if x.cfg.mode == 'J' {
			j.rebuild()
		}
	}
	if x.bitmap != nil {
		b := x.bitmap
		b.mayWrite.copyFrom(b.disk)
		if x.recalcPending() {
			b.recalc.copyFrom(b.disk)
			b.recalc.clearRange(0, x.sb.recalcSector()>>b.recalc.shift<<b.recalc.shift)
		}
	}
}

// rebuild makes the journal read from the device what it was in core:
// the live sections (committed, uncommitted, being filled) as read, their
// entries back in the journal tree in order; the others as written into
// place.
func (j *journal) rebuild() {
	g := j.g
	live := j.nCommitted + j.nUncommitted
	if j.freeSectionEntry != 0 {
		live++
	}
	isLive := func(i uint32) bool {
		d := (i + g.journalSections - j.committedSection) % g.journalSections
		return d < live
	}
	for k := uint32(0); k < live; k++ {
		i := j.wrap(j.committedSection + k)
		n := g.sectionEntries
		if i == j.freeSection && j.freeSectionEntry != 0 {
			n = j.freeSectionEntry
		}
		for e := uint32(0); e < n; e++ {
			eo := j.entryOff(i, e)
			if j.entryHi(eo) != entryUnused {
				j.addNode(j.entrySector(eo), i*g.sectionEntries+e)
			}
		}
	}
	for i := uint32(0); i < g.journalSections; i++ {
		if isLive(i) {
			continue
		}
		for e := uint32(0); e < g.sectionEntries; e++ {
			eo := j.entryOff(i, e)
			if j.entryHi(eo) == entryUnused {
				continue
			}
			if j.entrySector(eo) < g.provided {
				j.restoreLastBytes(i, e)
			}
			j.setEntryHi(eo, entryUnused)
		}
	}
}

// persistUncommitted writes the sections not committed yet (the one being
// filled too) with the commit ids their commit will give them, leaving
// the positions as they are: a later process reads them back, and after
// a crash they replay like committed ones.
func (j *journal) persistUncommitted() {
	n := j.nUncommitted
	if j.freeSectionEntry != 0 {
		n++
	}
	if n == 0 {
		return
	}
	j.stampUncommitted(j.uncommittedSection, n, j.commitSeq)
	j.write(j.uncommittedSection, n)
}

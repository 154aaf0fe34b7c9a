package era

import "encoding/json"

// savedState is what the kernel keeps in core for a live era table that
// its metadata does not hold, as it stood at the last commit: where the
// metadata space map allocates next, whether a writeset was archived since
// the digest last started, and the digest's position; with, at save time,
// the origin's size in blocks seen by the last preresume and whether the
// worker ran since that commit. The digest's work after a commit is never
// committed by itself, so a later process redoes it from here.
type savedState struct {
	NrBlocks uint64      `json:"nr_blocks"`
	Cursor   uint64      `json:"cursor"`
	Archived bool        `json:"archived"`
	Ran      bool        `json:"ran,omitempty"`
	Digest   savedDigest `json:"digest"`
}

// savedDigest is a digest's position (without its bitset cache).
type savedDigest struct {
	Step       digestStep `json:"step"`
	Era        uint32     `json:"era"`
	NrBits     uint32     `json:"nr_bits"`
	CurrentBit uint32     `json:"current_bit"`
	WSNrBits   uint32     `json:"ws_nr_bits"`
	WSRoot     uint64     `json:"ws_root"`
}

// state is the in-core state to keep with the commit just made.
func (e *Era) state() savedState {
	d := e.dg
	return savedState{
		Cursor:   e.md.sm.AllocCursor(),
		Archived: e.md.archived,
		Digest: savedDigest{Step: d.step, Era: d.era, NrBits: d.nrBits, CurrentBit: d.currentBit,
			WSNrBits: d.writeset.nrBits, WSRoot: d.writeset.root},
	}
}

// SaveState is targets.StateSaver.
func (e *Era) SaveState() string {
	e.workMu.Lock()
	s := e.snapshot
	s.NrBlocks, s.Ran = e.nrBlocks, e.ranSinceCommit
	e.workMu.Unlock()
	b, _ := json.Marshal(s)
	return string(b)
}

// restore takes up a live table's state from saved (SaveState's string;
// without one, the state of a table that just opened its metadata), loads
// the current writeset's bits and, unless the worker is stopped, redoes
// quietly what the kernel's worker did after the last commit.
func (e *Era) restore(saved string, suspended bool) error {
	s := savedState{NrBlocks: e.calcNrBlocks(), Archived: true}
	if saved != "" {
		if err := json.Unmarshal([]byte(saved), &s); err != nil {
			s = savedState{NrBlocks: e.calcNrBlocks(), Archived: true}
		}
	}
	md := e.md
	if s.Cursor != 0 {
		md.sm.SetAllocCursor(s.Cursor)
	}
	md.archived = s.Archived
	e.dg = digest{step: s.Digest.Step, era: s.Digest.Era, nrBits: s.Digest.NrBits, currentBit: s.Digest.CurrentBit,
		writeset: writesetRef{nrBits: s.Digest.WSNrBits, root: s.Digest.WSRoot}}
	e.nrBlocks, e.suspended = s.NrBlocks, suspended
	e.snapshot = s
	e.snapshot.NrBlocks, e.snapshot.Ran = 0, false
	if err := md.loadCurrentBits(uint64(md.nrBlocks)); err != nil {
		return err
	}
	if suspended {
		return nil
	}
	e.quiet = true
	defer func() { e.quiet = false }()
	if s.Ran && md.archived {
		md.archived = false
		e.dg.start()
	}
	e.ranSinceCommit = s.Ran || e.dg.step != stepNone
	for e.dg.step != stepNone {
		e.processOldEras()
	}
	return nil
}

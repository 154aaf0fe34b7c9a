package thinpool

import "encoding/json"

// savedState is the part of a pool's in-core state that the kernel keeps
// while the pool device exists and the metadata does not hold: where the
// space maps resume allocating, the mode, and whether the low water event
// was sent since the last resume.
type savedState struct {
	MetaCursor   uint64 `json:"meta_cursor"`
	DataCursor   uint64 `json:"data_cursor"`
	Mode         Mode   `json:"mode"`
	LowWaterSent bool   `json:"low_water_sent,omitempty"`
}

// SaveState is targets.StateSaver: the pool's state for the process that
// rebuilds this table next.
func (t *Target) SaveState() string {
	p := t.pool
	var s savedState
	s.MetaCursor, s.DataCursor = p.md.AllocCursors()
	p.mu.Lock()
	s.Mode, s.LowWaterSent = p.mode, p.lowWaterTriggered
	p.mu.Unlock()
	b, _ := json.Marshal(s)
	return string(b)
}

// restoreState takes back the state SaveState gave. Without one (or with
// one that does not parse) the state is derived from the metadata (see
// resumeMode).
func (p *Pool) restoreState(saved string, lowWaterBlocks uint64) {
	var s savedState
	if saved == "" || json.Unmarshal([]byte(saved), &s) != nil || s.Mode < ModeWrite || s.Mode > ModeFail {
		p.resumeMode(lowWaterBlocks)
		return
	}
	p.md.SetAllocCursors(s.MetaCursor, s.DataCursor)
	p.lowWaterBlocks = lowWaterBlocks
	p.lowWaterTriggered = s.LowWaterSent
	p.mode = s.Mode
	if p.md.NeedsCheck() && p.mode == ModeWrite {
		p.mode = ModeReadOnly
	}
}

package thinpool

import (
	"encoding/json"
	"fmt"
	"slices"
)

// savedState is the part of a pool's in-core state that the kernel keeps
// while the pool device exists and the metadata does not hold: where the
// space maps resume allocating, the mode, whether the low water event was
// sent since the last resume, the metadata low water threshold with the
// last free count its check saw, the metadata's in-core device list
// (the order a commit writes changed device details in), and whether the
// metadata is in service (its commits flush the data device). Whether the
// pool device is suspended is the device's own state
// (targets.Context.Suspended).
type savedState struct {
	MetaCursor   uint64       `json:"meta_cursor"`
	DataCursor   uint64       `json:"data_cursor"`
	Mode         Mode         `json:"mode"`
	LowWaterSent bool         `json:"low_water_sent,omitempty"`
	MetaLowWater metaLowWater `json:"meta_low_water"`
	DeviceList   []uint64     `json:"device_list,omitempty"`
	InService    bool         `json:"in_service,omitempty"`
}

// SaveState is targets.StateSaver: the pool's state for the process that
// rebuilds this table next.
func (t *Target) SaveState() string {
	p := t.pool
	var s savedState
	s.MetaCursor, s.DataCursor = p.md.AllocCursors()
	s.DeviceList = p.md.DeviceList()
	s.InService = p.md.InService()
	p.mu.Lock()
	s.Mode, s.LowWaterSent = p.mode, p.lowWaterTriggered
	p.mu.Unlock()
	p.lwMu.Lock()
	s.MetaLowWater = p.metaLow
	p.lwMu.Unlock()
	b, _ := json.Marshal(s)
	return string(b)
}

// restoreState takes back the state SaveState gave. Without one (or with
// one that does not parse) the state is derived from the metadata (see
// resumeMode).
func (p *Pool) restoreState(saved string, lowWaterBlocks uint64, restored bool) {
	var s savedState
	if saved == "" || json.Unmarshal([]byte(saved), &s) != nil {
		p.resumeMode(lowWaterBlocks, restored)
		return
	}
	p.md.SetAllocCursors(s.MetaCursor, s.DataCursor)
	p.md.SetDeviceList(s.DeviceList)
	if s.InService {
		p.md.MarkInService()
	}
	p.lowWaterBlocks = lowWaterBlocks
	p.lowWaterTriggered = s.LowWaterSent
	p.mode = s.Mode
	if p.md.NeedsCheck() && p.mode == ModeWrite {
		p.mode = ModeReadOnly
	}
	p.metaLow = s.MetaLowWater
}

// modeKeys name the modes in saved state (by name, not number, so that a
// state written with another numbering does not parse).
var modeKeys = [...]string{"write", "out_of_data_space", "out_of_metadata_space", "read_only", "fail"}

// MarshalText names the mode for saved state.
func (m Mode) MarshalText() ([]byte, error) {
	if m < 0 || int(m) >= len(modeKeys) {
		return nil, fmt.Errorf("pool mode %d out of range", int(m))
	}
	return []byte(modeKeys[m]), nil
}

// UnmarshalText reads a mode MarshalText named.
func (m *Mode) UnmarshalText(b []byte) error {
	i := slices.Index(modeKeys[:], string(b))
	if i < 0 {
		return fmt.Errorf("unknown pool mode %q", b)
	}
	*m = Mode(i)
	return nil
}

package logwrites

import (
	"encoding/json"
	"fmt"
)

// savedState is the log's state as SaveState keeps it between processes:
// the counters of logState and the unflushed entries with their data.
type savedState struct {
	Entries    uint64       `json:"entries"`
	NextSector uint64       `json:"next_sector"`
	EndSector  uint64       `json:"end_sector"`
	Disabled   bool         `json:"disabled,omitempty"`
	Unflushed  []savedBlock `json:"unflushed,omitempty"`
}

type savedBlock struct {
	Flags      uint64 `json:"flags"`
	Sector     uint64 `json:"sector"`
	LenSectors uint64 `json:"len"`
	Data       []byte `json:"data,omitempty"`
}

// SaveState is targets.StateSaver: what the kernel keeps of the log while
// the table lives (its counters, whether logging stopped, the entries not
// flushed yet, data included), for the next process that rebuilds it.
func (l *LogWrites) SaveState() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := savedState{Entries: l.loggedEntries, NextSector: l.nextSector, EndSector: l.endSector, Disabled: !l.enabled}
	for _, b := range l.unflushed {
		s.Unflushed = append(s.Unflushed, savedBlock{Flags: b.flags, Sector: b.sector, LenSectors: b.lenSectors, Data: b.data})
	}
	b, _ := json.Marshal(s) // plain numbers and bytes: it cannot fail
	return string(b)
}

// restore takes up the state SaveState gave, after checking it holds
// together: entries inside the log as far as it goes, unflushed writes
// whose data is as long as their sectors, discards without data.
func (l *LogWrites) restore(saved string) error {
	var s savedState
	if err := json.Unmarshal([]byte(saved), &s); err != nil {
		return err
	}
	if s.NextSector < entrySectors || s.Entries > s.NextSector-entrySectors {
		return fmt.Errorf("next sector %d cannot follow %d entries", s.NextSector, s.Entries)
	}
	var unflushed []*block
	for i, b := range s.Unflushed {
		switch {
		case b.Flags == flagDiscard && len(b.Data) == 0:
		case b.Flags == 0 && uint64(len(b.Data)) == b.LenSectors*logSectorBytes:
		default:
			return fmt.Errorf("unflushed entry %d: flags %#x with %d sectors and %d bytes of data", i, b.Flags, b.LenSectors, len(b.Data))
		}
		unflushed = append(unflushed, &block{flags: b.Flags, sector: b.Sector, lenSectors: b.LenSectors, data: b.Data})
	}
	l.logState = logState{loggedEntries: s.Entries, nextSector: s.NextSector, endSector: s.EndSector, enabled: !s.Disabled}
	l.unflushed = unflushed
	return nil
}

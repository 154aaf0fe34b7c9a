package mirror

import (
	"encoding/json"
	"fmt"
	"strings"
)

// savedPrefix starts a saved mirror state: its format's name and version.
const savedPrefix = "mirror-v1:"

// savedState is what the kernel keeps in memory for a live mirror set and
// its log: the bitsets (a core log's clean bits live nowhere else), the
// search cursor, the legs' errors, the default leg, the flags, and the
// regions the hash holds out of sync.
type savedState struct {
	NrRegions               uint64
	Clean, Sync             []byte
	SyncCount, SyncSearch   uint64
	Touched                 [2]bool // cleaned, dirtied
	FlushFailed             bool
	DevFailed, DevFlushFail bool
	Legs                    [][2]uint64 // error count, error kinds
	DefaultLeg              int
	InSync, LogFailure      bool
	LegFailure, FlushFail   bool
	NoSync                  []uint64
}

// SaveState is targets.StateSaver: recovery goes on for a while
// (drainRecovery), then stops (the region in flight finished), and the
// set's state is returned, to be taken back when a later process rebuilds
// the live table.
func (m *Mirror) SaveState() string {
	m.mu.Lock()
	defer m.unlock()
	m.drainRecovery()
	m.stopRecovery()
	st := savedState{NrRegions: m.nrRegions, Clean: m.log.clean, Sync: m.log.syncBits, SyncCount: m.log.syncCount, SyncSearch: m.log.syncSearch,
		Touched: [2]bool{m.log.touchedCleaned, m.log.touchedDirtied}, FlushFailed: m.log.flushFailed,
		DevFailed: m.log.devFailed, DevFlushFail: m.log.devFlushFail, DefaultLeg: m.defaultLeg,
		InSync: m.inSync, LogFailure: m.logFailure, LegFailure: m.legFailure, FlushFail: m.flushFailure}
	for _, l := range m.legs {
		st.Legs = append(st.Legs, [2]uint64{l.errorCount, uint64(l.errorType)})
	}
	for r, reg := range m.regions {
		if reg.state == rhNoSync {
			st.NoSync = append(st.NoSync, r)
		}
	}
	b, _ := json.Marshal(st) // plain values: cannot fail
	return savedPrefix + string(b)
}

// restore takes back what SaveState gave, after checking it fits this
// table. Without saved state (the last process ended without saving) a
// disk log is read from its device as at a resume, without writing it; a
// core log is as a new table's. mu not held: the target is not shared yet.
func (m *Mirror) restore(saved string) error {
	if saved == "" {
		if m.log.disk {
			h, err := m.log.readHeader(m.ctx.Logf)
			if err != nil {
				return err
			}
			if h.nrRegions != m.log.regionCount {
				return fmt.Errorf("the disk log holds %d regions, the table %d", h.nrRegions, m.log.regionCount)
			}
			copy(m.log.syncBits, m.log.clean)
			m.log.syncCount = countBits(m.log.syncBits)
		}
		m.checkInSync()
		return nil
	}
	body, ok := strings.CutPrefix(saved, savedPrefix)
	if !ok {
		return fmt.Errorf("not a saved mirror state (no %q)", savedPrefix)
	}
	var st savedState
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		return fmt.Errorf("saved mirror state: %w", err)
	}
	l := m.log
	if st.NrRegions != m.nrRegions || len(st.Clean) != l.bitsetBytes || len(st.Sync) != l.bitsetBytes ||
		len(st.Legs) != len(m.legs) || st.DefaultLeg < 0 || st.DefaultLeg >= len(m.legs) {
		return fmt.Errorf("saved mirror state is for %d regions (%d-byte bitsets) and %d legs (default %d), the table has %d regions and %d legs",
			st.NrRegions, len(st.Clean), len(st.Legs), st.DefaultLeg, m.nrRegions, len(m.legs))
	}
	if l.disk {
		if _, err := l.dev.ReadAt(l.buf, 0); err != nil {
			return fmt.Errorf("reading the disk log %s: %w", l.dev.Name(), err)
		}
	}
	copy(l.clean, st.Clean)
	copy(l.syncBits, st.Sync)
	if st.SyncCount > m.nrRegions {
		return fmt.Errorf("saved mirror state has %d regions in sync, of %d", st.SyncCount, m.nrRegions)
	}
	l.syncCount, l.syncSearch = st.SyncCount, st.SyncSearch
	l.touchedCleaned, l.touchedDirtied, l.flushFailed = st.Touched[0], st.Touched[1], st.FlushFailed
	l.devFailed, l.devFlushFail = st.DevFailed, st.DevFlushFail
	for i, x := range st.Legs {
		m.legs[i].errorCount, m.legs[i].errorType = x[0], int(x[1])
	}
	m.defaultLeg, m.inSync, m.logFailure, m.legFailure, m.flushFailure =
		st.DefaultLeg, st.InSync, st.LogFailure, st.LegFailure, st.FlushFail
	for _, r := range st.NoSync {
		if r >= m.nrRegions {
			return fmt.Errorf("saved mirror state has region %d out of sync, of %d", r, m.nrRegions)
		}
		m.regions[r] = &region{state: rhNoSync}
	}
	return nil
}

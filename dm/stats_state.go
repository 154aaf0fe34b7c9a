package dm

// savedStats is a device's statistics as the state directory keeps them:
// in the kernel they live as long as the device, here a device outlives
// the process, so its regions and counters go with it.
type savedStats struct {
	// LastSector and LastWrite are where the last I/O counted ended and its
	// direction (the next I/O starting there is a merge).
	LastSector uint64        `json:"last_sector"`
	LastWrite  bool          `json:"last_write,omitempty"`
	Regions    []savedRegion `json:"regions,omitempty"`
}

// savedRegion is one region; Areas holds only the areas that counted something.
type savedRegion struct {
	ID          int         `json:"id"`
	StartSector uint64      `json:"start"`
	EndSector   uint64      `json:"end"`
	StepSectors uint64      `json:"step"`
	Precise     bool        `json:"precise,omitempty"`
	Histogram   []uint64    `json:"histogram,omitempty"`
	ProgramID   string      `json:"program_id"`
	AuxData     string      `json:"aux_data"`
	Areas       []savedArea `json:"areas,omitempty"`
}

// savedArea is the counters of area Index.
type savedArea struct {
	Index uint64 `json:"index"`
	statsCounters
}

// savedStats returns what the state directory keeps of d's statistics
// (nil when d never had a region). I/O in flight is not kept: at the end of
// a command there is none.
func (d *Device) savedStats() *savedStats {
	st := d.statsSet
	if st == nil {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	out := &savedStats{LastSector: st.lastSector, LastWrite: st.lastWrite}
	for _, s := range st.regions {
		r := savedRegion{ID: s.id, StartSector: s.startSector, EndSector: s.endSector, StepSectors: s.stepSectors,
			Precise: s.precise, Histogram: s.histogram, ProgramID: s.programID, AuxData: s.auxData}
		for i := range s.areas {
			if c := s.areas[i].statsCounters; !c.zero() {
				c.Histogram = append([]uint64(nil), c.Histogram...)
				r.Areas = append(r.Areas, savedArea{Index: uint64(i), statsCounters: c})
			}
		}
		out.Regions = append(out.Regions, r)
	}
	return out
}

// restoreStats gives d the statistics saved (none for nil). Saved areas
// outside their region or with a histogram of the wrong size are left out:
// the state file is input like any other.
func (d *Device) restoreStats(saved *savedStats) {
	if saved == nil {
		return
	}
	st := newStatsSet()
	st.lastSector, st.lastWrite = saved.LastSector, saved.LastWrite
	now := statsNowNanos()
	for _, r := range saved.Regions {
		if r.StepSectors == 0 || r.EndSector <= r.StartSector {
			continue
		}
		s := newStatsRegion(r.StartSector, r.EndSector, r.StepSectors, r.Precise, r.Histogram, r.ProgramID, r.AuxData, now)
		s.id = r.ID
		for _, a := range r.Areas {
			if a.Index < uint64(len(s.areas)) && len(a.Histogram) == len(s.areas[a.Index].Histogram) {
				s.areas[a.Index].statsCounters = a.statsCounters
			}
		}
		st.insert(s)
	}
	d.setStats(st)
}

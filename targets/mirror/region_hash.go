package mirror

// regionState is a region's state in the region hash (DM_RH_*).
type regionState int

const (
	rhClean      regionState = iota // in sync, no write in flight
	rhDirty                         // in sync, writes in flight
	rhNoSync                        // the legs may differ
	rhRecovering                    // being copied from the default leg
)

// region is a region the hash holds: one with writes in flight, out of
// sync, or being recovered (struct dm_region). Clean regions are dropped.
type region struct {
	state   regionState
	pending int // writes in flight
}

// regionState is dm_rh_get_state: the hash's state, else the log's word.
// mu held.
func (m *Mirror) regionState(r uint64) regionState {
	if reg, ok := m.regions[r]; ok {
		return reg.state
	}
	if m.log.inSync(r) {
		return rhClean
	}
	return rhNoSync
}

// findRegion is __rh_find: the region's entry, made from the log's word
// when the hash has none. mu held.
func (m *Mirror) findRegion(r uint64) *region {
	reg, ok := m.regions[r]
	if !ok {
		reg = &region{state: m.regionState(r)}
		m.regions[r] = reg
	}
	return reg
}

// inc is rh_inc: a write to the region is starting; a clean region turns
// dirty and the log marks it. mu held.
func (m *Mirror) inc(r uint64) {
	reg := m.findRegion(r)
	reg.pending++
	if reg.state == rhClean {
		reg.state = rhDirty
		m.log.mark(r)
	}
}

// dec is dm_rh_dec with the update that follows it: the last write of a
// dirty region makes it clean, which the log records (and a disk log
// writes out); after a failed flush it is out of sync instead. A region
// being recovered may now be copied. mu held.
func (m *Mirror) dec(r uint64) {
	reg := m.regions[r]
	reg.pending--
	if reg.pending > 0 {
		return
	}
	switch {
	case m.flushFailure:
		reg.state = rhNoSync
	case reg.state == rhDirty:
		delete(m.regions, r)
		m.log.clear(r)
		m.flushLog()
	}
	m.cond.Broadcast()
}

// markNoSync is dm_rh_mark_nosync for a failed write to region r (not a
// flush, not a discard): out of sync in the log and the hash; a recovery
// waiting for the write ends unsuccessful (setRegionSync cleared its
// recovering bit; the worker sees the state). mu held.
func (m *Mirror) markNoSync(r uint64) {
	m.log.setRegionSync(r, false)
	m.findRegion(r).state = rhNoSync
	m.cond.Broadcast()
}

// flushLog is dm_rh_flush: the log written out if it changed; a failure
// is a log failure. mu held.
func (m *Mirror) flushLog() {
	if m.log.flush(m.flushLegs, m.event) != nil {
		m.logFailure = true
	}
}

package mirror

import "time"

// copyChunkBytes is how much of a region recovery copies at a time.
const copyChunkBytes = 1 << 20

// drainBudget is how long a process that releases a live mirror keeps
// recovering before it stops (see drainRecovery).
const drainBudget = 2 * time.Second

// startRecovery is dm_rh_start_recovery: the worker runs until
// stopRecovery. mu held.
func (m *Mirror) startRecovery() {
	if m.workerDone != nil {
		return
	}
	m.stopWorker, m.idle = false, false
	m.workerDone = make(chan struct{})
	go m.recoveryWorker(m.workerDone)
}

// stopRecovery is dm_rh_stop_recovery and the wait for recovery in
// flight: no region is being copied on return. mu held; released while
// waiting.
func (m *Mirror) stopRecovery() {
	done := m.workerDone
	if done == nil {
		return
	}
	m.stopWorker = true
	m.cond.Broadcast()
	m.mu.Unlock()
	<-done
	m.mu.Lock()
	m.workerDone = nil
}

// drainRecovery lets the worker go on until it has no region left to
// recover or drainBudget has passed: the kernel's recovery runs on its
// own at once, so a small mirror is in sync (its event raised, its
// recovery errors logged) by the time the command that made it live has
// returned; a process ending here gets as far in what time it has. mu
// held; released while waiting.
func (m *Mirror) drainRecovery() {
	if m.workerDone == nil {
		return
	}
	expired := false
	timer := time.AfterFunc(drainBudget, func() {
		m.mu.Lock()
		expired = true
		m.cond.Broadcast()
		m.mu.Unlock()
	})
	defer timer.Stop()
	for !m.idle && !expired {
		m.cond.Wait()
	}
}

// recoveryWorker is do_recovery, looped: it takes the log's next region
// out of sync (one at a time, MAX_RECOVERY 1), waits for the writes in
// flight there, copies it from the default leg to the others, and records
// the outcome; then, once every region is in sync, it raises the event
// and forgets the legs' errors, as the kernel does once per table.
func (m *Mirror) recoveryWorker(done chan struct{}) {
	m.mu.Lock()
	defer func() {
		m.unlock()
		close(done)
	}()
	for !m.stopWorker {
		m.checkInSync()
		r, ok := m.log.resyncWork()
		if !ok {
			m.idle = true
			m.cond.Broadcast()
			m.unlock()
			m.mu.Lock()
			if !m.stopWorker {
				m.cond.Wait()
			}
			continue
		}
		m.idle = false
		m.recoverRegion(r)
	}
}

// checkInSync raises the event when the last region came in sync. mu held.
func (m *Mirror) checkInSync() {
	if !m.inSync && m.log.syncCount == m.nrRegions {
		m.event()
		m.inSync = true
		m.resetFlags()
	}
}

// recoverRegion is __rh_recovery_prepare, recover and recovery_complete
// with the state update for region r. mu held; released while copying.
func (m *Mirror) recoverRegion(r uint64) {
	reg := m.findRegion(r)
	reg.state = rhRecovering
	for reg.pending > 0 && reg.state == rhRecovering {
		m.cond.Wait()
	}
	if reg.state != rhRecovering { // a failed write ended it
		return
	}
	src := m.defaultLeg
	readErr, writeErrs := m.copyRegion(r, src)
	if readErr {
		m.ratelimited(&recoveryReadLimit, "Unable to read primary mirror during recovery")
		m.failLeg(src, syncError)
	}
	if writeErrs != 0 {
		m.ratelimited(&recoveryWriteLimit, "Write error during recovery (error = 0x%x)", writeErrs)
		bit := 0
		for i := range m.legs {
			if i == src {
				continue
			}
			if writeErrs&(1<<bit) != 0 {
				m.failLeg(i, syncError)
			}
			bit++
		}
	}
	delete(m.regions, r)
	if !readErr && writeErrs == 0 {
		m.log.clear(r)
		m.log.setRegionSync(r, true)
	} else {
		m.log.setRegionSync(r, !m.handleErrors)
	}
	m.flushLog()
	m.cond.Broadcast()
}

// copyRegion copies region r (the last one may be short) from leg src to
// the others, without mu. It reports a read error and, per destination
// in leg order past src, a bit for a write error (kcopyd's write_err).
// mu held on entry and on return.
func (m *Mirror) copyRegion(r uint64, src int) (readErr bool, writeErrs uint64) {
	regionSectors := uint64(m.log.regionSectors)
	startSector := r * regionSectors
	lenSectors := min(regionSectors, m.lenSectors-startSector)
	from := m.legs[src]
	var to []*leg
	for i, l := range m.legs {
		if i != src {
			to = append(to, l)
		}
	}
	m.mu.Unlock()
	defer m.mu.Lock()
	buf := make([]byte, min(int64(lenSectors)*512, copyChunkBytes))
	for off := int64(0); off < int64(lenSectors)*512; off += int64(len(buf)) {
		p := buf[:min(int64(len(buf)), int64(lenSectors)*512-off)]
		if _, err := from.dev.ReadAt(p, m.offBytes(from, startSector)+off); err != nil {
			return true, writeErrs
		}
		for bit, l := range to {
			if writeErrs&(1<<bit) != 0 {
				continue
			}
			if _, err := l.dev.WriteAt(p, m.offBytes(l, startSector)+off); err != nil {
				writeErrs |= 1 << bit
			}
		}
	}
	return false, writeErrs
}

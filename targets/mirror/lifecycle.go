package mirror

// PreSuspend is mirror_presuspend: writes held after a leg failed now
// fail, and recovery stops once the region in flight is copied.
func (m *Mirror) PreSuspend() { m.quiesce() }

// PostSuspend is mirror_postsuspend: a disk log writes itself out
// (disk_flush); a failure is only warned about, as the kernel does.
func (m *Mirror) PostSuspend() error {
	m.mu.Lock()
	defer m.unlock()
	if m.log.flush(m.flushLegs, m.event) != nil {
		m.ctx.Logf(msgPrefix + "log postsuspend failed")
	}
	return nil
}

// PreResume refuses nothing (the target has no preresume).
func (m *Mirror) PreResume() error { return nil }

// Resume is mirror_resume: the table is live, a disk log reads its device
// again (core_resume or disk_resume; a failure is warned about) and
// recovery starts from the first region out of sync.
func (m *Mirror) Resume() {
	m.mu.Lock()
	defer m.unlock()
	m.live = true
	if m.suspended {
		m.suspended = false
		m.release = make(chan struct{})
	}
	if m.log.resume(m.ctx.Logf, m.event) != nil {
		m.ctx.Logf(msgPrefix + "log resume failed")
	}
	m.startRecovery()
}

// Destroy is mirror_dtr: recovery stops; held writes fail.
func (m *Mirror) Destroy() { m.quiesce() }

// Close stops recovery (the region in flight is finished) and fails held
// writes: the table is released by this process.
func (m *Mirror) Close() error {
	m.quiesce()
	return nil
}

// quiesce fails held writes and stops recovery.
func (m *Mirror) quiesce() {
	m.mu.Lock()
	defer m.unlock()
	if !m.suspended {
		m.suspended = true
		close(m.release)
	}
	m.stopRecovery()
}

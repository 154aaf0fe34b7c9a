package multipath

// PreSuspend is multipath_presuspend: queue_if_no_path is turned off and
// saved for the resume (always when bio-based; request-based only when
// the suspend flushes). I/O queued for want of a path maps again: it fails
// with EIO, or with a noflush suspend goes back to the core, which holds
// it for the resume (__must_push_back).
func (m *Multipath) PreSuspend() {
	m.mu.Lock()
	defer m.unlock()
	if m.bioBased || !m.ctx.NoflushSuspending() {
		m.setQueueIfNoPath(false, true)
	}
	m.kickQueued()
}

// PostSuspend is multipath_postsuspend: the device is suspended (messages
// are refused).
func (m *Multipath) PostSuspend() error {
	m.mu.Lock()
	defer m.unlock()
	m.suspended = true
	return nil
}

// PreResume refuses nothing (the target has no preresume).
func (m *Multipath) PreResume() error { return nil }

// Resume is multipath_resume: a queue_if_no_path the suspend saved is
// set again.
func (m *Multipath) Resume() {
	m.mu.Lock()
	defer m.unlock()
	if m.savedQueueIfNoPath {
		m.queueIfNoPath = true
		m.savedQueueIfNoPath = false
	}
	m.suspended = false
}

// Destroy is multipath_dtr: I/O still queued ends.
func (m *Multipath) Destroy() { m.release() }

// Close ends I/O still queued (targets.ErrReleased): the table is
// released by this process.
func (m *Multipath) Close() error {
	m.release()
	return nil
}

func (m *Multipath) release() {
	m.mu.Lock()
	defer m.unlock()
	m.released = true
	m.cond.Broadcast()
}

package multipath

// PreSuspend is multipath_presuspend: queue_if_no_path is turned off and
// saved for the resume, so I/O queued for want of a path fails now with
// EIO (a suspend here always flushes; bio-based multipath does this on
// every suspend).
func (m *Multipath) PreSuspend() {
	m.mu.Lock()
	defer m.unlock()
	m.presuspend()
}

// presuspend is PreSuspend's work, run once per suspend. mu held.
func (m *Multipath) presuspend() {
	if m.presuspended {
		return
	}
	m.presuspended = true
	m.setQueueIfNoPath(false, true)
}

// PostSuspend is multipath_postsuspend: the device is suspended (messages
// are refused). A table this process built only after I/O stopped had no
// presuspend: its work is done here.
func (m *Multipath) PostSuspend() error {
	m.mu.Lock()
	defer m.unlock()
	m.presuspend()
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
	m.suspended, m.presuspended = false, false
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

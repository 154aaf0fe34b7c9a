package metadata

// Changed reports whether anything changed since the last commit
// (dm_pool_changed_this_transaction).
func (p *Pool) Changed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dirty
}

// InService reports whether the pool was changed since it was opened or
// formatted (the kernel's pmd->in_service, set by every operation that
// takes pmd_write_lock, an abort included, and never cleared): from then on
// every commit of the pool flushes the data device first, even with
// nothing to commit.
func (p *Pool) InService() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inService
}

// MarkInService puts the pool in service (InService) without a change: for
// a pool that a previous open of the same device put in service.
func (p *Pool) MarkInService() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inService = true
}

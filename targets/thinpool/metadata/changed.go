package metadata

// Changed reports whether anything changed since the last commit
// (dm_pool_changed_this_transaction).
func (p *Pool) Changed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dirty
}

package metadata

// AllocCursors are the metadata and data space maps' allocation cursors (see
// spacemap.Metadata.AllocCursor): in-core state of an open pool.
func (p *Pool) AllocCursors() (metaBlock, dataBlock uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.msm.AllocCursor(), p.dsm.AllocCursor()
}

// SetAllocCursors restores cursors saved from AllocCursors by an earlier
// open of the same metadata, so allocation continues where it left off.
func (p *Pool) SetAllocCursors(metaBlock, dataBlock uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msm.SetAllocCursor(metaBlock)
	p.dsm.SetAllocCursor(dataBlock)
}

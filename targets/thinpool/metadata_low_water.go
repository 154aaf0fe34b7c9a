package thinpool

// metaLowWater is the metadata device's low water mark: the threshold
// pool_ctr registers (calc_metadata_threshold) and the metadata space
// map's edge-triggered check of it. The space map looks at its free count
// after every block it allocates and calls back when the count is at or
// below the threshold while the count it saw before was not (or it had
// seen none): the pool then logs and raises a table event.
//
// Registering keeps what was seen (the kernel's set_threshold leaves
// value_set and current_value alone); an abort drops both, as the kernel
// rebuilds its space maps without a threshold.
type metaLowWater struct {
	Registered bool   `json:"registered,omitempty"`
	Threshold  uint64 `json:"threshold,omitempty"` // in metadata blocks
	Seen       bool   `json:"seen,omitempty"`      // a free count was seen (value_set)
	LastFree   uint64 `json:"last_free,omitempty"` // the last free count seen (current_value)
}

// sample is the space map's check_threshold: whether this free count
// crosses the threshold, and it becomes the last one seen.
func (lw *metaLowWater) sample(free uint64) (fire bool) {
	fire = lw.Registered && free <= lw.Threshold && !(lw.Seen && lw.LastFree <= lw.Threshold)
	lw.Seen, lw.LastFree = true, free
	return fire
}

// registerMetadataThreshold is dm_pool_register_metadata_threshold, at
// pool_ctr: thresholdBlocks from then on.
func (p *Pool) registerMetadataThreshold(thresholdBlocks uint64) {
	p.lwMu.Lock()
	p.metaLow.Registered, p.metaLow.Threshold = true, thresholdBlocks
	p.lwMu.Unlock()
}

// forgetMetadataThreshold follows an abort of the metadata: the space maps
// are new, with no threshold and nothing seen; they are sampled again (for
// a threshold a later table registers).
func (p *Pool) forgetMetadataThreshold() {
	p.lwMu.Lock()
	p.metaLow = metaLowWater{}
	p.lwMu.Unlock()
	p.md.OnMetadataAlloc(p.metadataAllocated)
}

// metadataAllocated is called by the metadata after each metadata block it
// allocates (with its lock held: only lwMu is taken here) and is
// metadata_low_callback when the threshold is crossed.
func (p *Pool) metadataAllocated(free uint64) {
	p.lwMu.Lock()
	fire := p.metaLow.sample(free)
	event := p.lwEvent
	p.lwMu.Unlock()
	if fire {
		p.lowWaterReached("metadata", event)
	}
}

// setLowWaterEvent is where metadata low water events go: the bound
// table's device.
func (p *Pool) setLowWaterEvent(event func()) {
	p.lwMu.Lock()
	p.lwEvent = event
	p.lwMu.Unlock()
}

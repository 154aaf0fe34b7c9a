package metadata

import "math"

// OnMetadataAlloc has fn called after every metadata block allocation with
// the metadata space map's free count at that moment: the blocks free at
// the last commit less those allocated since, which is what the kernel's
// metadata space map compares with a registered threshold
// (dm_sm_register_threshold_callback). fn runs inside the operation that
// allocates, with the Pool's lock held: it must not call the Pool.
//
// The registration lasts until Abort or Close: Abort rebuilds the space
// maps without it, as the kernel's abort drops the threshold.
func (p *Pool) OnMetadataAlloc(fn func(nrFree uint64)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	msm := p.msm
	// The space map's threshold is edge-triggered: one at the largest
	// value fires at the next allocation, and arming it again from its
	// own callback makes it fire at every allocation.
	var arm func()
	arm = func() {
		msm.SetThreshold(math.MaxUint64, func() {
			arm()
			free, _ := msm.NrFree() // pdata's counters never fail
			fn(free)
		})
	}
	arm()
}

// OnMetadataNoSpace has fn called each time a metadata block allocation
// finds no free block, inside the operation, with the Pool's lock held (fn
// must not call the Pool). Unlike OnMetadataAlloc it lasts across Abort: the
// kernel's space map logs such failures itself.
func (p *Pool) OnMetadataNoSpace(fn func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.noSpace = fn
	p.msm.OnNoSpace(fn)
}

package raid

// loc is where a piece of the array lives: a member and a sector on it.
type loc struct {
	disk   int
	sector uint64
}

// raid0Loc is raid0's map_sector for members of one size (one zone):
// chunks go round the members in turn.
func (r *Raid) raid0Loc(sector uint64) loc {
	chunk, off := sector/r.chunkSectors, sector%r.chunkSectors
	n := uint64(len(r.members))
	return loc{int(chunk % n), chunk/n*r.chunkSectors + off}
}

// row is one raid4/5/6 stripe (a stripe_head's geometry): the member
// holding each data chunk in order, the parity members, whether Q's
// syndrome counts every member's position (the DDF layouts), and each
// member's place in the syndrome.
type row struct {
	stripe uint64 // the row number: its chunks sit at stripe*chunkSectors
	data   []int  // data[k]: the member of the row's k-th data chunk
	pd, qd int    // the P and Q members (qd -1 for raid4/5)
	slot   []int  // slot[disk]: the member's index in the Q syndrome
}

// rowOf is raid5_compute_sector for the row of the array's chunk number
// chunk: which row it falls in and where each of that row's chunks go.
func (r *Raid) rowOf(chunk uint64) *row { return r.rowIn(len(r.members), r.layout, chunk) }

// rowIn is rowOf for an array of n members laid out by layout (the
// geometry before or after a reshape).
func (r *Raid) rowIn(n, layout int, chunk uint64) *row {
	dataDisks := n - r.rt.parityDevs
	rw := &row{stripe: chunk / uint64(dataDisks), qd: -1}
	for k := range dataDisks {
		d, pd, qd, _ := r.placement(n, layout, rw.stripe, k)
		rw.data = append(rw.data, d)
		rw.pd, rw.qd = pd, qd
	}
	if r.rt.level == 6 {
		_, _, _, ddf := r.placement(n, layout, rw.stripe, 0)
		rw.slot = syndromeSlots(n, rw.pd, rw.qd, ddf)
	}
	return rw
}

// placement is the switch of raid5_compute_sector: for n members laid out
// by layout, the row stripe and its k-th data chunk, the member holding
// it, P's and Q's members and whether the layout is a DDF one.
func (r *Raid) placement(n, layout int, stripe uint64, k int) (dd, pd, qd int, ddf bool) {
	dataDisks := n - r.rt.parityDevs
	s := int(stripe % uint64(n))
	dd, qd = k, -1
	if r.rt.level != 6 {
		switch layout {
		case algLeftAsymmetric:
			pd = dataDisks - s
			if dd >= pd {
				dd++
			}
		case algRightAsymmetric:
			pd = s
			if dd >= pd {
				dd++
			}
		case algLeftSymmetric:
			pd = dataDisks - s
			dd = (pd + 1 + dd) % n
		case algRightSymmetric:
			pd = s
			dd = (pd + 1 + dd) % n
		case algParity0:
			pd = 0
			dd++
		case algParityN:
			pd = dataDisks
		}
		return dd, pd, qd, false
	}
	asym := func(pdIdx int) {
		pd, qd = pdIdx, pdIdx+1
		if pd == n-1 {
			dd++
			qd = 0
		} else if dd >= pd {
			dd += 2
		}
	}
	s1 := int(stripe % uint64(n-1))
	switch layout {
	case algLeftAsymmetric:
		asym(n - 1 - s)
	case algRightAsymmetric:
		asym(s)
	case algLeftSymmetric:
		pd = n - 1 - s
		qd = (pd + 1) % n
		dd = (pd + 2 + dd) % n
	case algRightSymmetric:
		pd = s
		qd = (pd + 1) % n
		dd = (pd + 2 + dd) % n
	case algParity0:
		pd, qd = 0, 1
		dd += 2
	case algParityN:
		pd, qd = dataDisks, dataDisks+1
	case algRotZeroRestart:
		asym(s)
		ddf = true
	case algRotNRestart:
		asym(n - 1 - int((stripe+1)%uint64(n)))
		ddf = true
	case algRotNContinue:
		pd = n - 1 - s
		qd = (pd + n - 1) % n
		dd = (pd + 1 + dd) % n
		ddf = true
	case algLeftAsymmetric6:
		pd = dataDisks - s1
		if dd >= pd {
			dd++
		}
		qd = n - 1
	case algRightAsymmetric6:
		pd = s1
		if dd >= pd {
			dd++
		}
		qd = n - 1
	case algLeftSymmetric6:
		pd = dataDisks - s1
		dd = (pd + 1 + dd) % (n - 1)
		qd = n - 1
	case algRightSymmetric6:
		pd = s1
		dd = (pd + 1 + dd) % (n - 1)
		qd = n - 1
	case algParity0of6:
		pd = 0
		dd++
		qd = n - 1
	}
	return dd, pd, qd, ddf
}

// syndromeSlots is set_syndrome_sources' walk (raid6_d0, raid6_idx_to_slot):
// md counts the data members from the one after Q, DDF layouts from
// member 0 with P's and Q's positions counted too.
func syndromeSlots(n, pd, qd int, ddf bool) []int {
	slot := make([]int, n)
	d0 := 0
	if !ddf && qd != n-1 {
		d0 = qd + 1
	}
	count := 0
	for i, j := d0, 0; j < n; i, j = (i+1)%n, j+1 {
		s := count
		if ddf {
			count++
		}
		switch i {
		case pd:
			slot[i] = -1
			continue
		case qd:
			slot[i] = -2
			continue
		}
		if !ddf {
			count++
		}
		slot[i] = s
	}
	return slot
}

// raid10Geometry is raid10's struct geom with the stride calc_sectors sets.
type raid10Geometry struct {
	disks, near, far, farSetSize int
	offset                       bool
	strideSectors                uint64
}

// setupRaid10 is setup_geo and calc_sectors for the table's layout.
func (r *Raid) setupRaid10() { r.geo10 = r.raid10GeoFor(len(r.members), r.layout) }

// raid10GeoFor is setup_geo and calc_sectors for disks members laid out
// by layout (the geometry before or after a reshape).
func (r *Raid) raid10GeoFor(disks, layout int) raid10Geometry {
	var g raid10Geometry
	g.disks = disks
	g.near, g.far, g.offset = raid10NearCopies(layout), raid10FarCopies(layout), raid10IsOffset(layout)
	switch layout >> 17 {
	case 0:
		g.farSetSize = g.disks
	case 1:
		g.farSetSize = g.disks / g.far
	default:
		g.farSetSize = g.far * g.near
	}
	chunks := r.devSectors / r.chunkSectors
	chunks /= uint64(g.far)
	chunks *= uint64(g.disks)
	chunks /= uint64(g.near)
	chunks *= uint64(g.near * g.far)
	chunks = (chunks + uint64(g.disks) - 1) / uint64(g.disks)
	if g.offset {
		g.strideSectors = r.chunkSectors
	} else {
		g.strideSectors = chunks / uint64(g.far) * r.chunkSectors
	}
	return g
}

// raid10Locs is __raid10_find_phys: every copy of the array's sector.
func (r *Raid) raid10Locs(sector uint64) []loc { return r.raid10LocsIn(&r.geo10, sector) }

// raid10LocsIn is raid10Locs in the geometry g.
func (r *Raid) raid10LocsIn(g *raid10Geometry, sector uint64) []loc {
	lastFarSetStart := (g.disks/g.farSetSize - 1) * g.farSetSize
	lastFarSetSize := g.farSetSize + g.disks%g.farSetSize
	chunk, s := sector/r.chunkSectors, sector%r.chunkSectors
	chunk *= uint64(g.near)
	stripe := chunk / uint64(g.disks)
	dev := int(chunk % uint64(g.disks))
	if g.offset {
		stripe *= uint64(g.far)
	}
	s += stripe * r.chunkSectors
	locs := make([]loc, 0, g.near*g.far)
	for range g.near {
		d, ds := dev, s
		locs = append(locs, loc{d, ds})
		for f := 1; f < g.far; f++ {
			set := d / g.farSetSize
			d += g.near
			if g.disks%g.farSetSize != 0 && d > lastFarSetStart {
				d -= lastFarSetStart
				d %= lastFarSetSize
				d += lastFarSetStart
			} else {
				d %= g.farSetSize
				d += g.farSetSize * set
			}
			ds += g.strideSectors
			locs = append(locs, loc{d, ds})
		}
		dev++
		if dev >= g.disks {
			dev = 0
			s += r.chunkSectors
		}
	}
	return locs
}

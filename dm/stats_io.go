package dm

// statsCount is an I/O being counted in a device's statistics (see
// Table.startCount); nil when the device holds no region.
type statsCount struct {
	set    *statsSet
	io     statsIO
	pieces [][2]uint64
}

// startCount counts the start of an I/O of lenSectors at sector when the
// device holds a region (Device.stats), and returns what finish needs to
// count its end. As the kernel splits a bio at target boundaries (and,
// with maxIO, at each target's max_io_len) and counts each piece as an I/O
// of its own, the pieces are those split gives. Without a region the cost
// is one load and a nil result.
func (t *Table) startCount(write bool, sector, lenSectors uint64, maxIO bool) *statsCount {
	st := t.stats.Load()
	if st == nil || lenSectors == 0 {
		return nil
	}
	c := &statsCount{set: st}
	t.split(sector, lenSectors, maxIO, func(_ *entry, _, n, done uint64) error {
		c.pieces = append(c.pieces, [2]uint64{sector + done, n})
		return nil
	})
	c.io = st.begin(write, c.pieces)
	return c
}

// finish counts the end of the I/O (nothing for a nil c). The kernel counts
// an I/O that failed as one that did not.
func (c *statsCount) finish() {
	if c != nil {
		c.set.end(c.io, c.pieces)
	}
}

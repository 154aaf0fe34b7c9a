package spacemap

// AllocCursor is where the next NewBlock starts its search: one past the
// last allocation. The kernel keeps it in core for as long as the space map
// is open (6.1 resets it only at open), so a caller that reopens the space
// map in a new process restores it with SetAllocCursor to allocate the
// blocks the kernel would.
func (m *Metadata) AllocCursor() uint64 { return m.begin }

// SetAllocCursor restores a cursor from AllocCursor. It is ignored while the
// space map bootstraps itself or when b is past its end.
func (m *Metadata) SetAllocCursor(b uint64) {
	if !m.bootstrap && b <= m.ll.nrBlocks {
		m.begin = b
	}
}

// AllocCursor is the data space map's search start (see Metadata.AllocCursor).
func (d *Disk) AllocCursor() uint64 { return d.begin }

// SetAllocCursor restores a cursor from AllocCursor; one past the end is ignored.
func (d *Disk) SetAllocCursor(b uint64) {
	if b <= d.ll.nrBlocks {
		d.begin = b
	}
}

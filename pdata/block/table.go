package block

// table maps block numbers to cached blocks: open addressing with linear
// probing in a power-of-two array kept at most half full, and deletion by
// shifting back the entries that follow (no tombstones). A lookup is a
// multiply, a mask and usually one probe, cheaper than a Go map on the
// per-node hot path.
type table struct {
	slots []*Block
	n     int
	shift uint // 64 - log2(len(slots))
}

func newTable(capacity int) table {
	size := 16
	for size < 2*capacity {
		size *= 2
	}
	var t table
	t.alloc(size)
	return t
}

func (t *table) alloc(size int) {
	t.slots = make([]*Block, size)
	t.shift = 64
	for s := size; s > 1; s >>= 1 {
		t.shift--
	}
}

// home returns nr's preferred slot (Fibonacci hashing).
func (t *table) home(nr uint64) int { return int((nr * 0x9E3779B97F4A7C15) >> t.shift) }

// get returns the block cached for nr, or nil.
func (t *table) get(nr uint64) *Block {
	mask := len(t.slots) - 1
	for i := t.home(nr); ; i = (i + 1) & mask {
		b := t.slots[i]
		if b == nil || b.nr == nr {
			return b
		}
	}
}

// put adds b, whose number must not be in the table.
func (t *table) put(b *Block) {
	if 2*(t.n+1) > len(t.slots) {
		old := t.slots
		t.alloc(2 * len(old))
		t.n = 0
		for _, o := range old {
			if o != nil {
				t.put(o)
			}
		}
	}
	mask := len(t.slots) - 1
	i := t.home(b.nr)
	for t.slots[i] != nil {
		i = (i + 1) & mask
	}
	t.slots[i] = b
	t.n++
}

// remove deletes the entry for nr, if any, and moves back the entries of
// its probe run that would otherwise no longer be found.
func (t *table) remove(nr uint64) {
	mask := len(t.slots) - 1
	i := t.home(nr)
	for {
		b := t.slots[i]
		if b == nil {
			return
		}
		if b.nr == nr {
			break
		}
		i = (i + 1) & mask
	}
	t.n--
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		b := t.slots[j]
		if b == nil {
			break
		}
		// b may fill hole i unless its home lies cyclically in (i, j].
		if h := t.home(b.nr); (j-h)&mask >= (j-i)&mask {
			t.slots[i] = b
			i = j
		}
	}
	t.slots[i] = nil
}

// len returns the number of cached blocks.
func (t *table) len() int { return t.n }

// each calls fn for every cached block; fn may not add or remove entries.
func (t *table) each(fn func(b *Block)) {
	for _, b := range t.slots {
		if b != nil {
			fn(b)
		}
	}
}

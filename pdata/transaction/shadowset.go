package transaction

// shadowSet records the blocks allocated or shadowed in the current
// transaction and, for each, whether it is still known to be referenced
// once (no Inc through the Manager since), which spares a count lookup.
// Two bits per metadata block, indexed by block number and grown on demand:
// a lookup costs an index, not a map access.
type shadowSet struct {
	// bits holds bit 2b (block b is a shadow) and bit 2b+1 (it is exclusive).
	bits []uint64
}

// add records b as shadowed and referenced once.
func (s *shadowSet) add(b uint64) {
	w := b / 32
	if have := uint64(len(s.bits)); w >= have {
		s.bits = append(s.bits, make([]uint64, max(w+1, 2*have)-have)...)
	}
	s.bits[w] |= 3 << (2 * (b % 32))
}

// share records that b (if shadowed) may now be referenced more than once.
func (s *shadowSet) share(b uint64) {
	if w := b / 32; w < uint64(len(s.bits)) {
		s.bits[w] &^= 2 << (2 * (b % 32))
	}
}

// state reports whether b was shadowed in this transaction and whether it
// is still known to be referenced once.
func (s *shadowSet) state(b uint64) (isShadow, exclusive bool) {
	w := b / 32
	if w >= uint64(len(s.bits)) {
		return false, false
	}
	v := s.bits[w] >> (2 * (b % 32))
	return v&1 != 0, v&2 != 0
}

// reset forgets every shadow (a new transaction starts).
func (s *shadowSet) reset() { clear(s.bits) }

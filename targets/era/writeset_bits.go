package era

import "sync/atomic"

// writesetBits is the in-core copy of the current era's writeset (the
// kernel's ws->bits): I/O tests a block's bit without a lock; only the
// worker sets bits, after the commit that records them on disk.
type writesetBits struct {
	words []atomic.Uint64
}

func newWritesetBits(nrBlocks uint64) *writesetBits {
	return &writesetBits{words: make([]atomic.Uint64, (nrBlocks+63)/64)}
}

// marked reports whether dataBlock is set (false beyond the bitset).
func (w *writesetBits) marked(dataBlock uint64) bool {
	i := dataBlock / 64
	return i < uint64(len(w.words)) && w.words[i].Load()&(1<<(dataBlock%64)) != 0
}

// set sets dataBlock's bit (ignored beyond the bitset).
func (w *writesetBits) set(dataBlock uint64) {
	if i := dataBlock / 64; i < uint64(len(w.words)) {
		w.words[i].Or(1 << (dataBlock % 64))
	}
}

package metadata

import "testing"

// TestRefSet: blocks of the data device and blocks beyond it (damaged metadata)
// are counted alike; the bitmaps grow with the highest block of the data device
// added, not with the device's size, and not with the blocks beyond it.
func TestRefSet(t *testing.T) {
	s := newRefSet(100)
	for _, b := range []uint64{5, 7, 7, 1 << 39, 1 << 39, 1<<39 + 1} {
		s.add(b)
	}
	for b, want := range map[uint64]bool{5: true, 7: false, 8: false, 1 << 39: false, 1<<39 + 1: true, 1 << 38: false} {
		if got := s.once(b); got != want {
			t.Errorf("once(%d) = %v, want %v", b, got, want)
		}
	}
	if len(s.seen) != 1 || len(s.shared) != 1 {
		t.Errorf("bitmaps grew to %d and %d words, want 1", len(s.seen), len(s.shared))
	}
	s.add(99)
	if len(s.seen) != 2 || len(s.shared) != 2 || !s.once(99) || s.once(98) {
		t.Errorf("after block 99: bitmaps of %d and %d words, once(99) %v", len(s.seen), len(s.shared), s.once(99))
	}
	big := newRefSet(maxDenseDataBlocks)
	big.add(1000)
	big.add(1000)
	if len(big.seen) != 16 || big.once(1000) || big.once(1<<31) {
		t.Errorf("a 2^32-block data device with block 1000 mapped twice: %d words, once(1000) %v", len(big.seen), big.once(1000))
	}
}

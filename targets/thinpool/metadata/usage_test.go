package metadata

import "testing"

// TestRefSet: blocks of the data device and blocks beyond it (damaged metadata)
// are counted alike, and those beyond do not grow the bitmaps.
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
	if len(s.seen) != 2 || len(s.shared) != 2 {
		t.Errorf("bitmaps grew to %d and %d words, want 2", len(s.seen), len(s.shared))
	}
}

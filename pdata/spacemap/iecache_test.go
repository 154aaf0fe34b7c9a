package spacemap

import "testing"

// TestIECacheSlotsAreTheKernels checks hash_index (index * (2^32-5) in 32
// bits, low 6 bits): 64 consecutive indexes take every slot once, and the
// slot order decides the commit's order of writing dirty entries.
func TestIECacheSlotsAreTheKernels(t *testing.T) {
	for index, want := range map[uint64]int{0: 0, 1: 59, 2: 54, 13: 63, 63: 5, 64: 0, 65: 59, 1 << 32: 0} {
		if got := ieSlot(index); got != want {
			t.Errorf("ieSlot(%d) = %d, want %d", index, got, want)
		}
	}
	var seen [ieCacheSlots]bool
	for i := uint64(100); i < 100+ieCacheSlots; i++ {
		seen[ieSlot(i)] = true
	}
	for s, ok := range seen {
		if !ok {
			t.Errorf("slot %d not taken by 64 consecutive indexes", s)
		}
	}
	var c ieCache
	c.take(1, true)
	c.take(2, true)
	if ev, ok := c.take(65, false); !ok || ev != 1 {
		t.Errorf("loading 65 displaced %d %v, want dirty 1", ev, ok)
	}
	if got := c.flush(); len(got) != 1 || got[0] != 2 {
		t.Errorf("flush = %v, want [2]", got)
	}
}

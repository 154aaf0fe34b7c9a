package block

import (
	"math/rand"
	"testing"
)

// TestTable checks the open-addressing table against a Go map through
// random puts and removes (clustered keys make long probe runs), growth
// included.
func TestTable(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	tb := newTable(4)
	want := make(map[uint64]*Block)
	for i := 0; i < 200000; i++ {
		nr := uint64(rng.Intn(3000))
		if rng.Intn(5) == 0 {
			nr = uint64(rng.Int63())
		}
		if b, ok := want[nr]; ok {
			if got := tb.get(nr); got != b {
				t.Fatalf("step %d: get %d = %p, want %p", i, nr, got, b)
			}
			if rng.Intn(2) == 0 {
				tb.remove(nr)
				delete(want, nr)
			}
			continue
		}
		if got := tb.get(nr); got != nil {
			t.Fatalf("step %d: get %d = %p, want nil", i, nr, got)
		}
		b := &Block{nr: nr}
		tb.put(b)
		want[nr] = b
		if tb.len() != len(want) {
			t.Fatalf("step %d: len %d, want %d", i, tb.len(), len(want))
		}
	}
	n := 0
	tb.each(func(b *Block) {
		if want[b.nr] != b {
			t.Fatalf("each: stray block %d", b.nr)
		}
		n++
	})
	if n != len(want) {
		t.Fatalf("each saw %d blocks, want %d", n, len(want))
	}
}

package verity

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
)

// chunkWords is the size of a blockSet chunk in 64-bit words (32768 blocks).
const chunkWords = 512

// blockSet is check_at_most_once's bitset of data blocks verified once
// (v->validated_blocks), in chunks allocated when a block in them is first
// added, so that a large device costs only what is read. Safe for
// concurrent use: chunks are published with compare-and-swap, bits set
// with atomic ors, and a bit once set stays set.
type blockSet struct {
	blocks uint64
	chunks []atomic.Pointer[[chunkWords]uint64]
}

func newBlockSet(blocks uint64) *blockSet {
	return &blockSet{blocks: blocks, chunks: make([]atomic.Pointer[[chunkWords]uint64], (blocks+chunkWords*64-1)/(chunkWords*64))}
}

func (s *blockSet) has(b uint64) bool {
	c := s.chunks[b/(chunkWords*64)].Load()
	return c != nil && atomic.LoadUint64(&c[b/64%chunkWords])&(1<<(b%64)) != 0
}

func (s *blockSet) add(b uint64) {
	p := &s.chunks[b/(chunkWords*64)]
	c := p.Load()
	if c == nil {
		p.CompareAndSwap(nil, new([chunkWords]uint64))
		c = p.Load()
	}
	atomic.OrUint64(&c[b/64%chunkWords], 1<<(b%64))
}

// String lists the set's blocks as ranges, "FIRST-LAST,..." ("" when
// empty); parse reads it back.
func (s *blockSet) String() string {
	var ranges []string
	for b := uint64(0); b < s.blocks; {
		if s.chunks[b/(chunkWords*64)].Load() == nil {
			b = (b/(chunkWords*64) + 1) * chunkWords * 64
			continue
		}
		if !s.has(b) {
			b++
			continue
		}
		first := b
		for b < s.blocks && s.has(b) {
			b++
		}
		ranges = append(ranges, fmt.Sprintf("%d-%d", first, b-1))
	}
	return strings.Join(ranges, ",")
}

// parse adds the ranges of String's form in text to s.
func (s *blockSet) parse(text string) error {
	if text == "" {
		return nil
	}
	for _, r := range strings.Split(text, ",") {
		a, b, _ := strings.Cut(r, "-")
		first, err1 := strconv.ParseUint(a, 10, 64)
		last, err2 := strconv.ParseUint(b, 10, 64)
		if err1 != nil || err2 != nil || first > last || last >= s.blocks {
			return fmt.Errorf("block range %q: not FIRST-LAST within %d blocks", r, s.blocks)
		}
		for x := first; x <= last; x++ {
			s.add(x)
		}
	}
	return nil
}

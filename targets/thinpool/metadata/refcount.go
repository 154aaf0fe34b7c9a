package metadata

import (
	"fmt"
	"math/bits"
)

// Space-map bitmap geometry (dm-space-map-common.c).
const (
	entriesPerBitmap = (BlockSize - 16) * 4 // 16320 two-bit entries per bitmap block
	wordsPerBitmap   = (BlockSize - 16) / 8 // 510 little-endian u64 words
)

// refCounts is the in-memory image of one space map: the two-bit bitmap entries in
// their on-disk bit order, the overflow counts (>= 3), and per-bitmap bookkeeping for
// the next commit. Blocks freed in the current transaction are not handed out again
// before the commit, so the last committed state stays intact on disk.
type refCounts struct {
	name          string // "metadata" or "data", for errors
	nrBlocks      uint64
	words         []uint64          // wordsPerBitmap words per bitmap
	overflow      map[uint64]uint32 // full count of blocks whose entry is 3
	overflowDirty bool
	bitmapLoc     []uint64 // metadata block holding each bitmap (0: not written yet)
	bitmapDirty   []bool
	nrAllocated   uint64
	freed         map[uint64]struct{} // blocks whose count dropped to 0 in this transaction
	hint          uint64              // where the next allocation search starts
}

func newRefCounts(name string, nrBlocks uint64) *refCounts {
	r := &refCounts{name: name, overflow: make(map[uint64]uint32), freed: make(map[uint64]struct{})}
	r.resize(nrBlocks)
	return r
}

func nrBitmaps(nrBlocks uint64) int { return int((nrBlocks + entriesPerBitmap - 1) / entriesPerBitmap) }

// resize grows the map to nrBlocks (shrinking is refused by callers).
func (r *refCounts) resize(nrBlocks uint64) {
	nb := nrBitmaps(nrBlocks)
	for len(r.bitmapLoc) < nb {
		r.bitmapLoc = append(r.bitmapLoc, 0)
		r.bitmapDirty = append(r.bitmapDirty, true)
		r.words = append(r.words, make([]uint64, wordsPerBitmap)...)
	}
	r.nrBlocks = nrBlocks
}

// get returns the reference count of block b.
func (r *refCounts) get(b uint64) uint32 {
	raw := (r.words[b/32] >> (2 * (b % 32))) & 3
	// Bit 2j is the high bit of the count, bit 2j+1 the low bit.
	v := uint32((raw&1)<<1 | raw>>1)
	if v == 3 {
		return r.overflow[b]
	}
	return v
}

func (r *refCounts) set(b uint64, v uint32) {
	old := r.get(b)
	if old == v {
		return
	}
	e := min(v, 3)
	if old >= 3 || v >= 3 {
		r.overflowDirty = true
		if v >= 3 {
			r.overflow[b] = v
		} else {
			delete(r.overflow, b)
		}
	}
	raw := uint64((e&1)<<1 | e>>1)
	w := &r.words[b/32]
	shift := 2 * (b % 32)
	*w = *w&^(3<<shift) | raw<<shift
	r.bitmapDirty[b/entriesPerBitmap] = true
	switch {
	case old == 0:
		r.nrAllocated++
		delete(r.freed, b)
	case v == 0:
		r.nrAllocated--
		r.freed[b] = struct{}{}
	}
}

func (r *refCounts) check(b uint64) error {
	if b >= r.nrBlocks {
		return fmt.Errorf("%s block %d beyond the end of the %s space map (%d blocks)", r.name, b, r.name, r.nrBlocks)
	}
	return nil
}

// inc adds one reference to block b.
func (r *refCounts) inc(b uint64) error {
	if err := r.check(b); err != nil {
		return err
	}
	r.set(b, r.get(b)+1)
	return nil
}

// dec drops one reference to block b and reports whether it became free.
func (r *refCounts) dec(b uint64) (bool, error) {
	if err := r.check(b); err != nil {
		return false, err
	}
	c := r.get(b)
	if c == 0 {
		return false, fmt.Errorf("%s block %d: reference count already zero", r.name, b)
	}
	r.set(b, c-1)
	return c == 1, nil
}

// fullWord reports whether all 32 entries of a word are non-zero.
func fullWord(w uint64) bool { return (w|w>>1)&0x5555555555555555 == 0x5555555555555555 }

// alloc finds a block free now and at the last commit, gives it count 1 and returns it.
func (r *refCounts) alloc() (uint64, error) {
	if r.nrBlocks == 0 {
		return 0, fmt.Errorf("%s space map: %w", r.name, ErrNoSpace)
	}
	start := r.hint % r.nrBlocks
	for pass := 0; pass < 2; pass++ {
		b, end := start, r.nrBlocks
		if pass == 1 {
			b, end = 0, start
		}
		for b < end {
			if b%32 == 0 && fullWord(r.words[b/32]) {
				b += 32
				continue
			}
			if r.get(b) == 0 {
				if _, wasFreed := r.freed[b]; !wasFreed {
					r.set(b, 1)
					r.hint = b + 1
					return b, nil
				}
			}
			b++
		}
	}
	return 0, fmt.Errorf("%s space map: %w", r.name, ErrNoSpace)
}

// nrFree counts blocks that can be allocated in this transaction.
func (r *refCounts) nrFree() uint64 { return r.nrBlocks - r.nrAllocated - uint64(len(r.freed)) }

// bitmapStats returns the index-entry fields of bitmap i: free entries and the first free one.
func (r *refCounts) bitmapStats(i int) (nrFree, noneFreeBefore uint32) {
	first := -1
	used := 0
	for j, w := range r.words[i*wordsPerBitmap : (i+1)*wordsPerBitmap] {
		nz := (w | w>>1) & 0x5555555555555555
		used += bits.OnesCount64(nz)
		if first < 0 && nz != 0x5555555555555555 {
			first = j*32 + bits.TrailingZeros64(^nz&0x5555555555555555)/2
		}
	}
	if first < 0 {
		first = entriesPerBitmap
	}
	return uint32(entriesPerBitmap - used), uint32(first)
}

// endTransaction forgets the per-transaction allocation state after a commit.
func (r *refCounts) endTransaction() {
	clear(r.freed)
}

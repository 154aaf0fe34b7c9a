package writecache

import (
	"math/bits"
	"sort"
	"time"
)

// none is the index of no block.
const none = int32(-1)

// index is the in-core view of the blocks (the kernel's wc_entry array,
// its rb-tree by origin sector, its LRU list and its sorted free tree):
//
//   - tree maps the origin sector of every used block to the block; a
//     sector has at most one block, as no block is under writeback while
//     I/O runs;
//   - the LRU list links used blocks, newest at head, oldest at tail;
//   - the free set is a bitmap with a cursor (current_free): blocks are
//     taken in ascending order from the cursor, wrapping round, and a
//     block freed into an empty set becomes the cursor.
//
// The caller's lock guards it.
type index struct {
	orig, seq  []uint64 // each block's entry, as in the metadata
	age        []int64  // when the block went into the tree (unix ns)
	prev, next []int32  // LRU links (towards head, towards tail)
	head, tail int32
	tree       map[uint64]int32
	free       []uint64 // bit set: block free
	freeCount  uint64
	cursor     int32 // current_free; none when the set is empty
}

// reset makes an empty index of nBlocks blocks: nothing used, nothing free.
func (x *index) reset(nBlocks uint64) {
	if uint64(len(x.orig)) != nBlocks {
		x.orig, x.seq = make([]uint64, nBlocks), make([]uint64, nBlocks)
		x.age = make([]int64, nBlocks)
		x.prev, x.next = make([]int32, nBlocks), make([]int32, nBlocks)
		x.free = make([]uint64, (nBlocks+63)/64)
	} else {
		clear(x.free)
	}
	x.head, x.tail = none, none
	x.tree = make(map[uint64]int32)
	x.freeCount = 0
	x.cursor = none
}

// insert is writecache_insert_entry: e goes into the tree and at the LRU's head.
func (x *index) insert(e int32, now time.Time) {
	x.tree[x.orig[e]] = e
	x.pushHead(e)
	x.age[e] = now.UnixNano()
}

func (x *index) pushHead(e int32) {
	x.prev[e], x.next[e] = none, x.head
	if x.head != none {
		x.prev[x.head] = e
	} else {
		x.tail = e
	}
	x.head = e
}

// inLRU reports whether e is in the LRU list (used, not being written back).
func (x *index) inLRU(e int32) bool { return x.prev[e] != none || x.head == e }

// unlinkLRU takes e out of the LRU list, if it is in it.
func (x *index) unlinkLRU(e int32) {
	if !x.inLRU(e) {
		return
	}
	p, n := x.prev[e], x.next[e]
	if p != none {
		x.next[p] = n
	} else {
		x.head = n
	}
	if n != none {
		x.prev[n] = p
	} else {
		x.tail = p
	}
	x.prev[e], x.next[e] = none, none
}

// lookup is the block holding origin sector s (writecache_find_entry
// without flags).
func (x *index) lookup(s uint64) (int32, bool) {
	e, ok := x.tree[s]
	return e, ok
}

// firstFrom is the used block with the lowest origin sector in
// [s, s+lenSectors), stepping by stepSectors (WFE_RETURN_FOLLOWING bounded
// by the bio); ok is false when there is none.
func (x *index) firstFrom(s, lenSectors, stepSectors uint64) (int32, bool) {
	for off := uint64(0); off < lenSectors; off += stepSectors {
		if e, ok := x.tree[s+off]; ok {
			return e, true
		}
	}
	return none, false
}

// inRange is every used block with an origin sector in [start, end), by
// ascending sector.
func (x *index) inRange(start, end, stepSectors uint64) []int32 {
	var out []int32
	if (end-start)/stepSectors <= uint64(len(x.tree)) {
		for s := start; s < end; s += stepSectors {
			if e, ok := x.tree[s]; ok {
				out = append(out, e)
			}
		}
		return out
	}
	for s, e := range x.tree {
		if s >= start && s < end {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return x.orig[out[i]] < x.orig[out[j]] })
	return out
}

// sorted is every used block by ascending origin sector.
func (x *index) sorted() []int32 {
	return x.inRange(0, ^uint64(0), 1)
}

// addFree is writecache_add_to_freelist.
func (x *index) addFree(e int32) {
	if x.freeCount == 0 {
		x.cursor = e
	}
	x.free[e/64] |= 1 << (uint(e) % 64)
	x.freeCount++
}

// popFree takes the cursor's block when want is none or is that block
// (writecache_pop_from_freelist); the cursor moves to the next free block
// above, else to the lowest.
func (x *index) popFree(want int32) (int32, bool) {
	e := x.cursor
	if x.freeCount == 0 || want != none && want != e {
		return none, false
	}
	x.free[e/64] &^= 1 << (uint(e) % 64)
	x.freeCount--
	x.cursor = none
	if x.freeCount > 0 {
		if n, ok := x.nextFree(e + 1); ok {
			x.cursor = n
		} else {
			x.cursor, _ = x.nextFree(0)
		}
	}
	return e, true
}

// nextFree is the first free block at or after from.
func (x *index) nextFree(from int32) (int32, bool) {
	n := int32(len(x.orig))
	for from < n {
		w := x.free[from/64] >> (uint(from) % 64)
		if w != 0 {
			e := from + int32(bits.TrailingZeros64(w))
			return e, e < n
		}
		from = (from/64 + 1) * 64
	}
	return none, false
}

// isFree reports whether e is in the free set.
func (x *index) isFree(e int32) bool { return x.free[e/64]&(1<<(uint(e)%64)) != 0 }

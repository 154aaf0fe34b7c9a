package metadata

import (
	"encoding/binary"
	"fmt"
)

// B-tree node layout (dm-btree-internal.h): 32-byte header, keys[max_entries] (u64),
// then values[max_entries] of value_size bytes.
const (
	nodeHeaderSize = 32
	flagInternal   = 1
	flagLeaf       = 2
)

// node is the raw bytes of one btree node block. Accessors assume the header passed
// checkNode (nr <= max, arrays inside the block).
type node []byte

func (n node) flags() uint32    { return binary.LittleEndian.Uint32(n[4:]) }
func (n node) isLeaf() bool     { return n.flags() == flagLeaf }
func (n node) nr() int          { return int(binary.LittleEndian.Uint32(n[16:])) }
func (n node) max() int         { return int(binary.LittleEndian.Uint32(n[20:])) }
func (n node) valueSize() int   { return int(binary.LittleEndian.Uint32(n[24:])) }
func (n node) setNr(v int)      { binary.LittleEndian.PutUint32(n[16:], uint32(v)) }
func (n node) key(i int) uint64 { return binary.LittleEndian.Uint64(n[nodeHeaderSize+8*i:]) }
func (n node) setKey(i int, k uint64) {
	binary.LittleEndian.PutUint64(n[nodeHeaderSize+8*i:], k)
}
func (n node) valueOff(i int) int { return nodeHeaderSize + 8*n.max() + n.valueSize()*i }
func (n node) value(i int) []byte {
	off := n.valueOff(i)
	return n[off : off+n.valueSize()]
}
func (n node) valueU64(i int) uint64 { return binary.LittleEndian.Uint64(n[n.valueOff(i):]) }
func (n node) setValueU64(i int, v uint64) {
	binary.LittleEndian.PutUint64(n[n.valueOff(i):], v)
}

// calcMaxEntries is the kernel's calc_max_entries: as many entries as fit, rounded
// down to a multiple of 3.
func calcMaxEntries(valueSize int) int {
	n := (BlockSize - nodeHeaderSize) / (8 + valueSize)
	return n / 3 * 3
}

// initNode turns data into an empty node (whole block zeroed).
func initNode(data []byte, leaf bool, valueSize int) {
	clear(data)
	flags := uint32(flagInternal)
	if leaf {
		flags = flagLeaf
	}
	binary.LittleEndian.PutUint32(data[4:], flags)
	binary.LittleEndian.PutUint32(data[20:], uint32(calcMaxEntries(valueSize)))
	binary.LittleEndian.PutUint32(data[24:], uint32(valueSize))
}

// checkNode validates a node header read from block nr: flags, sizes, entry counts,
// and (for leaves) the value size the tree expects.
func checkNode(n node, nr uint64, leafValueSize int) error {
	bad := func(format string, a ...any) error {
		return &BlockError{Block: nr, What: "btree node", Msg: fmt.Sprintf(format, a...)}
	}
	f := n.flags()
	if f != flagInternal && f != flagLeaf {
		return bad("bad flags %d", f)
	}
	vs := n.valueSize()
	want := 8
	if f == flagLeaf {
		want = leafValueSize
	}
	if vs != want {
		return bad("value_size %d, expected %d", vs, want)
	}
	if n.max() != calcMaxEntries(vs) {
		return bad("max_entries %d, expected %d", n.max(), calcMaxEntries(vs))
	}
	if n.nr() > n.max() {
		return bad("nr_entries %d > max_entries %d", n.nr(), n.max())
	}
	if f == flagInternal && n.nr() == 0 {
		return bad("internal node with no entries")
	}
	for i := 1; i < n.nr(); i++ {
		if n.key(i) <= n.key(i-1) {
			return bad("keys out of order at entry %d (%d after %d)", i, n.key(i), n.key(i-1))
		}
	}
	return nil
}

// lowerBound returns the highest index whose key is <= k, or -1.
func (n node) lowerBound(k uint64) int {
	lo, hi := -1, n.nr()
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if n.key(mid) <= k {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// insertAt shifts entries [i, nr) up by one and stores (k, v) at i. The node must have room.
func (n node) insertAt(i int, k uint64, v []byte) {
	nr, vs := n.nr(), n.valueSize()
	copy(n[nodeHeaderSize+8*(i+1):nodeHeaderSize+8*(nr+1)], n[nodeHeaderSize+8*i:nodeHeaderSize+8*nr])
	vo := n.valueOff(0)
	copy(n[vo+vs*(i+1):vo+vs*(nr+1)], n[vo+vs*i:vo+vs*nr])
	n.setKey(i, k)
	copy(n[vo+vs*i:vo+vs*(i+1)], v)
	n.setNr(nr + 1)
}

// deleteAt removes entry i, zeroing the freed slot.
func (n node) deleteAt(i int) {
	nr, vs := n.nr(), n.valueSize()
	copy(n[nodeHeaderSize+8*i:], n[nodeHeaderSize+8*(i+1):nodeHeaderSize+8*nr])
	vo := n.valueOff(0)
	copy(n[vo+vs*i:], n[vo+vs*(i+1):vo+vs*nr])
	n.setKey(nr-1, 0)
	clear(n[vo+vs*(nr-1) : vo+vs*nr])
	n.setNr(nr - 1)
}

// moveEntries copies count entries from src starting at si to dst at di (no shifting),
// for nodes of the same value size.
func moveEntries(dst node, di int, src node, si, count int) {
	copy(dst[nodeHeaderSize+8*di:nodeHeaderSize+8*(di+count)], src[nodeHeaderSize+8*si:nodeHeaderSize+8*(si+count)])
	vs := src.valueSize()
	copy(dst[dst.valueOff(di):dst.valueOff(di)+vs*count], src[src.valueOff(si):src.valueOff(si)+vs*count])
}

// truncate keeps the first count entries and zeroes the rest of the used slots.
func (n node) truncate(count int) {
	nr, vs := n.nr(), n.valueSize()
	clear(n[nodeHeaderSize+8*count : nodeHeaderSize+8*nr])
	clear(n[n.valueOff(count) : n.valueOff(0)+vs*nr])
	n.setNr(count)
}

// shiftUp makes room for count entries at the front.
func (n node) shiftUp(count int) {
	nr, vs := n.nr(), n.valueSize()
	copy(n[nodeHeaderSize+8*count:nodeHeaderSize+8*(nr+count)], n[nodeHeaderSize:nodeHeaderSize+8*nr])
	vo := n.valueOff(0)
	copy(n[vo+vs*count:vo+vs*(nr+count)], n[vo:vo+vs*nr])
	n.setNr(nr + count)
}

// shiftDown drops the first count entries.
func (n node) shiftDown(count int) {
	nr, vs := n.nr(), n.valueSize()
	copy(n[nodeHeaderSize:], n[nodeHeaderSize+8*count:nodeHeaderSize+8*nr])
	vo := n.valueOff(0)
	copy(n[vo:], n[vo+vs*count:vo+vs*nr])
	n.truncate(nr - count)
}

// Package btree implements the kernel's persistent-data B+tree
// (dm-btree): nested trees of 64-bit keys with fixed-size values, stored in
// 4096-byte nodes, copy-on-write through a transaction.Manager.
package btree

import (
	"encoding/binary"
	"fmt"

	"github.com/gdmsetup/gdmsetup/pdata/block"
)

// Node header flags.
const (
	InternalNode = 1
	LeafNode     = 2
)

// NodeHeaderSize is the size in bytes of the node header.
const NodeHeaderSize = 32

// CsumSalt is the checksum salt of btree nodes (BTREE_CSUM_XOR).
const CsumSalt = 121107

// CalcMaxEntries returns the kernel's calc_max_entries: how many keys and
// values of valueSize bytes fit in a node, rounded down to a multiple of 3.
func CalcMaxEntries(valueSize int) uint32 {
	n := (block.BlockSize - NodeHeaderSize) / (8 + valueSize)
	return uint32(n / 3 * 3)
}

// Node is a view of a node's bytes (a 4096-byte block). It does not copy.
type Node []byte

// Flags returns the header flags.
func (n Node) Flags() uint32 { return binary.LittleEndian.Uint32(n[4:]) }

// IsLeaf reports whether the node is a leaf (flags == LeafNode exactly, as thin_check).
func (n Node) IsLeaf() bool { return n.Flags() == LeafNode }

// Blocknr returns the stored location.
func (n Node) Blocknr() uint64 { return binary.LittleEndian.Uint64(n[8:]) }

// NrEntries returns the number of entries in use.
func (n Node) NrEntries() int { return int(binary.LittleEndian.Uint32(n[16:])) }

// MaxEntries returns the capacity.
func (n Node) MaxEntries() int { return int(binary.LittleEndian.Uint32(n[20:])) }

// ValueSize returns the size in bytes of one value.
func (n Node) ValueSize() int { return int(binary.LittleEndian.Uint32(n[24:])) }

// SetFlags stores the flags.
func (n Node) SetFlags(f uint32) { binary.LittleEndian.PutUint32(n[4:], f) }

// SetNrEntries stores nr_entries.
func (n Node) SetNrEntries(nr int) { binary.LittleEndian.PutUint32(n[16:], uint32(nr)) }

// SetMaxEntries stores max_entries.
func (n Node) SetMaxEntries(max int) { binary.LittleEndian.PutUint32(n[20:], uint32(max)) }

// SetValueSize stores value_size.
func (n Node) SetValueSize(sz int) { binary.LittleEndian.PutUint32(n[24:], uint32(sz)) }

// Key returns key i.
func (n Node) Key(i int) uint64 { return binary.LittleEndian.Uint64(n[NodeHeaderSize+8*i:]) }

// SetKey stores key i.
func (n Node) SetKey(i int, k uint64) { binary.LittleEndian.PutUint64(n[NodeHeaderSize+8*i:], k) }

func (n Node) valueOff(i int) int { return NodeHeaderSize + 8*n.MaxEntries() + n.ValueSize()*i }

// Value returns the bytes of value i (aliasing the node).
func (n Node) Value(i int) []byte {
	off := n.valueOff(i)
	return n[off : off+n.ValueSize()]
}

// Value64 returns value i as a little-endian u64 (child block of an internal node).
func (n Node) Value64(i int) uint64 { return binary.LittleEndian.Uint64(n[n.valueOff(i):]) }

// SetValue64 stores value i as a little-endian u64.
func (n Node) SetValue64(i int, v uint64) { binary.LittleEndian.PutUint64(n[n.valueOff(i):], v) }

// Init makes n an empty node of the given kind, zeroing the whole block.
func (n Node) Init(flags uint32, valueSize int) {
	clear(n)
	n.SetFlags(flags)
	n.SetMaxEntries(int(CalcMaxEntries(valueSize)))
	n.SetValueSize(valueSize)
}

// LowerBound returns the highest index whose key is <= key, or -1.
//
// Keys in a node are usually spread evenly (runs of virtual blocks, hashed
// or random keys), so a few interpolation probes, each checked against its
// right neighbour, usually land on the answer while touching two or three
// cache lines; a binary search finishes the rest, so skewed keys cost at
// most a few probes more than bisection alone.
func (n Node) LowerBound(key uint64) int {
	nr := n.NrEntries()
	if nr == 0 {
		return -1
	}
	lo, hi := 0, nr-1
	kl, kh := n.Key(lo), n.Key(hi)
	if key < kl {
		return -1
	}
	if key >= kh {
		return hi
	}
	// Invariant: Key(lo) = kl <= key < kh = Key(hi).
	for round := 0; round < interpolationRounds && hi-lo > 1; round++ {
		mid := lo + int(float64(key-kl)/float64(kh-kl)*float64(hi-lo))
		mid = min(max(mid, lo), hi-1)
		k := n.Key(mid)
		if k > key {
			hi, kh = mid, k
			continue
		}
		next := n.Key(mid + 1)
		if next > key {
			return mid
		}
		lo, kl = mid+1, next
	}
	for hi-lo > 1 {
		mid := int(uint(lo+hi) >> 1)
		if n.Key(mid) <= key {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// interpolationRounds bounds LowerBound's interpolation probes.
const interpolationRounds = 3

// UpperBound returns the lowest index whose key is >= key (NrEntries if none).
func (n Node) UpperBound(key uint64) int {
	i := n.LowerBound(key)
	if i >= 0 && n.Key(i) == key {
		return i
	}
	return i + 1
}

// CheckHeader performs the kernel's node_check structural tests (not the
// checksum or location): a known flag, entries that fit the block, and
// nr_entries <= max_entries.
func (n Node) CheckHeader() error {
	f := n.Flags()
	if f != InternalNode && f != LeafNode {
		return fmt.Errorf("bad node flags %#x", f)
	}
	vs, max := n.ValueSize(), n.MaxEntries()
	if vs == 0 || vs > block.BlockSize || max == 0 || NodeHeaderSize+(8+vs)*max > block.BlockSize {
		return fmt.Errorf("max_entries %d with value_size %d too large for block", max, vs)
	}
	if f == InternalNode && vs != 8 {
		return fmt.Errorf("internal node with value_size %d", vs)
	}
	if nr := n.NrEntries(); nr > max {
		return fmt.Errorf("nr_entries %d > max_entries %d", nr, max)
	}
	return nil
}

// nodeValidator is the btree node validator (header, location, checksum).
type nodeValidator struct{ block.SaltedValidator }

// Check verifies location, checksum and the node header.
func (v *nodeValidator) Check(data []byte, blocknr uint64) error {
	if err := v.SaltedValidator.Check(data, blocknr); err != nil {
		return err
	}
	return Node(data).CheckHeader()
}

// Validator validates btree nodes (the kernel's btree_node_validator).
var Validator block.Validator = &nodeValidator{block.SaltedValidator{Kind: "btree node", Salt: CsumSalt, LocationOff: 8}}

// insertAt inserts key/value at index i, shifting the tail up (node must have room).
func (n Node) insertAt(i int, key uint64, value []byte) {
	nr := n.NrEntries()
	vs := n.ValueSize()
	if i < nr {
		copy(n[NodeHeaderSize+8*(i+1):NodeHeaderSize+8*(nr+1)], n[NodeHeaderSize+8*i:NodeHeaderSize+8*nr])
		vo := n.valueOff(0)
		copy(n[vo+vs*(i+1):vo+vs*(nr+1)], n[vo+vs*i:vo+vs*nr])
	}
	n.SetKey(i, key)
	copy(n.Value(i), value)
	n.SetNrEntries(nr + 1)
}

// deleteAt removes entry i, shifting the tail down. The freed last slot
// keeps its key and value bytes (the kernel's delete_at does not clear
// them, and the metadata device must hold the kernel's bytes).
func (n Node) deleteAt(i int) {
	nr := n.NrEntries()
	vs := n.ValueSize()
	vo := n.valueOff(0)
	copy(n[NodeHeaderSize+8*i:], n[NodeHeaderSize+8*(i+1):NodeHeaderSize+8*nr])
	copy(n[vo+vs*i:], n[vo+vs*(i+1):vo+vs*nr])
	n.SetNrEntries(nr - 1)
}

// copyEntries copies count entries from src[srcIdx:] to dst[dstIdx:] (same value size).
func copyEntries(dst Node, dstIdx int, src Node, srcIdx, count int) {
	vs := src.ValueSize()
	copy(dst[NodeHeaderSize+8*dstIdx:NodeHeaderSize+8*(dstIdx+count)], src[NodeHeaderSize+8*srcIdx:])
	dvo, svo := dst.valueOff(0), src.valueOff(0)
	copy(dst[dvo+vs*dstIdx:dvo+vs*(dstIdx+count)], src[svo+vs*srcIdx:])
}

// shiftDown drops the first count entries (kernel shift_down); the last
// count slots keep their old bytes. The caller sets nr_entries.
func (n Node) shiftDown(count int) {
	copyEntries(n, 0, n, count, n.NrEntries()-count)
}

// shiftUp opens count empty slots at the front (kernel shift_up).
func (n Node) shiftUp(count int) {
	nr := n.NrEntries()
	vs := n.ValueSize()
	vo := n.valueOff(0)
	copy(n[NodeHeaderSize+8*count:NodeHeaderSize+8*(nr+count)], n[NodeHeaderSize:NodeHeaderSize+8*nr])
	copy(n[vo+vs*count:vo+vs*(nr+count)], n[vo:vo+vs*nr])
}

func putU64(b []byte, v uint64) { binary.LittleEndian.PutUint64(b, v) }

func getU64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

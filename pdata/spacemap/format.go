// Package spacemap implements the kernel's persistent-data space maps:
// per-block reference counts (2 bits in bitmap blocks, overflow in a
// ref-count btree) for the data device (Disk) and for the metadata device
// itself (Metadata), plus their on-disk codecs usable on raw bytes.
package spacemap

import (
	"encoding/binary"
	"fmt"

	"github.com/gdmsetup/gdmsetup/pdata/block"
)

// On-disk constants (dm-space-map-common.h / .c).
const (
	// RootSize is the size of a disk_sm_root; it is stored in a 128-byte
	// superblock field (RootFieldSize) whose tail is zero.
	RootSize      = 32
	RootFieldSize = 128
	// IndexEntrySize is the size of a disk_index_entry.
	IndexEntrySize = 16
	// BitmapHeaderSize is the size of a bitmap block's header.
	BitmapHeaderSize = 16
	// EntriesPerBitmap is the number of 2-bit counts in one bitmap block.
	EntriesPerBitmap = (block.BlockSize - BitmapHeaderSize) * 4
	// MaxMetadataBitmaps is the number of index entries in the metadata index block.
	MaxMetadataBitmaps = 255
	// MetadataMaxBlocks is the largest metadata device the metadata space map tracks.
	MetadataMaxBlocks = MaxMetadataBitmaps * EntriesPerBitmap
	// BitmapSalt, IndexSalt are the checksum salts of bitmap and metadata index blocks.
	BitmapSalt = 240779
	IndexSalt  = 160478
)

// Root is a space map root (struct disk_sm_root).
type Root struct {
	NrBlocks     uint64
	NrAllocated  uint64
	BitmapRoot   uint64 // metadata: index block; disk: index btree root
	RefCountRoot uint64 // overflow ref-count btree root
}

// Encode writes r into b (at least RootSize bytes) and zeroes the rest of b
// up to RootFieldSize when b is that long.
func (r Root) Encode(b []byte) {
	binary.LittleEndian.PutUint64(b[0:], r.NrBlocks)
	binary.LittleEndian.PutUint64(b[8:], r.NrAllocated)
	binary.LittleEndian.PutUint64(b[16:], r.BitmapRoot)
	binary.LittleEndian.PutUint64(b[24:], r.RefCountRoot)
	clear(b[RootSize:min(len(b), RootFieldSize)])
}

// DecodeRoot reads a space map root from b (at least RootSize bytes).
func DecodeRoot(b []byte) (Root, error) {
	if len(b) < RootSize {
		return Root{}, fmt.Errorf("space map root: %d bytes, want %d", len(b), RootSize)
	}
	r := Root{
		NrBlocks:     binary.LittleEndian.Uint64(b[0:]),
		NrAllocated:  binary.LittleEndian.Uint64(b[8:]),
		BitmapRoot:   binary.LittleEndian.Uint64(b[16:]),
		RefCountRoot: binary.LittleEndian.Uint64(b[24:]),
	}
	if r.NrAllocated > r.NrBlocks {
		return r, fmt.Errorf("space map root: nr_allocated %d > nr_blocks %d", r.NrAllocated, r.NrBlocks)
	}
	return r, nil
}

// IndexEntry describes one bitmap block (struct disk_index_entry).
type IndexEntry struct {
	Blocknr        uint64
	NrFree         uint32
	NoneFreeBefore uint32
}

// Encode writes e into b (IndexEntrySize bytes).
func (e IndexEntry) Encode(b []byte) {
	binary.LittleEndian.PutUint64(b[0:], e.Blocknr)
	binary.LittleEndian.PutUint32(b[8:], e.NrFree)
	binary.LittleEndian.PutUint32(b[12:], e.NoneFreeBefore)
}

// DecodeIndexEntry reads an index entry from b.
func DecodeIndexEntry(b []byte) IndexEntry {
	return IndexEntry{
		Blocknr:        binary.LittleEndian.Uint64(b[0:]),
		NrFree:         binary.LittleEndian.Uint32(b[8:]),
		NoneFreeBefore: binary.LittleEndian.Uint32(b[12:]),
	}
}

// NrBitmaps returns how many bitmap blocks cover nrBlocks.
func NrBitmaps(nrBlocks uint64) uint64 {
	n := nrBlocks / EntriesPerBitmap
	if nrBlocks%EntriesPerBitmap != 0 {
		n++
	}
	return n
}

// BitmapValidator validates bitmap blocks (csum, not_used, blocknr at 8).
var BitmapValidator block.Validator = &block.SaltedValidator{Kind: "space map bitmap", Salt: BitmapSalt, LocationOff: 8}

// IndexValidator validates the metadata space map's index block.
var IndexValidator block.Validator = &block.SaltedValidator{Kind: "metadata space map index", Salt: IndexSalt, LocationOff: 8}

// MetadataIndex is the decoded metadata index block: its entries, up to
// the first whose blocknr is 0.
type MetadataIndex []IndexEntry

// EncodeMetadataIndex writes entries into a metadata index block body (all
// MaxMetadataBitmaps slots; unused slots zero). Header fields are left to
// IndexValidator.Prepare.
func EncodeMetadataIndex(blk []byte, entries []IndexEntry) {
	clear(blk[BitmapHeaderSize:])
	for i, e := range entries {
		e.Encode(blk[BitmapHeaderSize+IndexEntrySize*i:])
	}
}

// DecodeMetadataIndex returns the first n entries of a metadata index block.
func DecodeMetadataIndex(blk []byte, n int) (MetadataIndex, error) {
	if n > MaxMetadataBitmaps {
		return nil, fmt.Errorf("metadata index: %d bitmaps needed, at most %d fit", n, MaxMetadataBitmaps)
	}
	out := make(MetadataIndex, n)
	for i := range out {
		out[i] = DecodeIndexEntry(blk[BitmapHeaderSize+IndexEntrySize*i:])
		if out[i].Blocknr == 0 {
			return nil, fmt.Errorf("metadata index: entry %d of %d has no bitmap block", i, n)
		}
	}
	return out, nil
}

// BitmapGet returns the 2-bit count of entry e in a bitmap block (3 means
// "see the overflow tree"). Bit 2j of the LE words is the high bit.
func BitmapGet(blk []byte, e uint32) uint32 {
	w := binary.LittleEndian.Uint64(blk[BitmapHeaderSize+8*(e/32):])
	s := 2 * (e % 32)
	return uint32((w>>s)&1)<<1 | uint32((w>>(s+1))&1)
}

// BitmapSet stores the 2-bit value v (0..3) of entry e.
func BitmapSet(blk []byte, e uint32, v uint32) {
	off := BitmapHeaderSize + 8*(e/32)
	w := binary.LittleEndian.Uint64(blk[off:])
	s := 2 * (e % 32)
	w &^= 3 << s
	w |= uint64(v>>1&1)<<s | uint64(v&1)<<(s+1)
	binary.LittleEndian.PutUint64(blk[off:], w)
}

// BitmapFindFree returns the first entry in [begin, end) whose count is 0.
func BitmapFindFree(blk []byte, begin, end uint32) (uint32, bool) {
	return bitmapFind(blk, begin, end, false)
}

// bitmapFind returns the first entry in [begin, end) whose count is not 0
// (used) or is 0 (!used), skipping whole words that hold none.
func bitmapFind(blk []byte, begin, end uint32, used bool) (uint32, bool) {
	const lowBits = 0x5555555555555555
	for e := begin; e < end; {
		if e%32 == 0 && e+32 <= end {
			w := binary.LittleEndian.Uint64(blk[BitmapHeaderSize+8*(e/32):])
			counted := (w | w>>1) & lowBits // one bit per entry whose count is not 0
			if used && counted == 0 || !used && counted == lowBits {
				e += 32
				continue
			}
		}
		if (BitmapGet(blk, e) != 0) == used {
			return e, true
		}
		e++
	}
	return 0, false
}

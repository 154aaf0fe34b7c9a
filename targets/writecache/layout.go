package writecache

import (
	"encoding/binary"
	"syscall"
)

// The cache device's layout (SSD mode), from its start sector: the
// superblock (64 bytes), one entry per cache block (16 bytes each), padding
// to a whole block, then the data blocks. Everything is little-endian.
const (
	sbMagic   = 0x23489321 // MEMORY_SUPERBLOCK_MAGIC
	sbVersion = 1          // MEMORY_SUPERBLOCK_VERSION

	sbBytes    = 64 // struct wc_memory_superblock without its entries
	entryBytes = 16 // struct wc_memory_entry: original_sector, seq_count

	// noSeq is the seq_count of a free entry (and, with it, the original
	// sector of a freshly formatted one).
	noSeq = ^uint64(0)

	// regionBytes is the granularity at which the in-memory metadata is
	// written back (BITMAP_GRANULARITY).
	regionBytes = 65536

	// maxIndex bounds the number of blocks (wc_entry's 47-bit index).
	maxIndex = 1 << 47
)

// Superblock field offsets.
const (
	offMagic     = 0
	offVersion   = 4
	offBlockSize = 8
	offNBlocks   = 16
	offSeqCount  = 24
)

// superblock is the decoded head of the metadata.
type superblock struct {
	magic, version, blockBytes uint32
	nBlocks, seqCount          uint64
}

func decodeSuperblock(b []byte) superblock {
	le := binary.LittleEndian
	return superblock{
		magic:      le.Uint32(b[offMagic:]),
		version:    le.Uint32(b[offVersion:]),
		blockBytes: le.Uint32(b[offBlockSize:]),
		nBlocks:    le.Uint64(b[offNBlocks:]),
		seqCount:   le.Uint64(b[offSeqCount:]),
	}
}

// entryOffBytes is where entry i lies in the metadata.
func entryOffBytes(i uint64) uint64 { return sbBytes + i*entryBytes }

// metadataBytesFor is the metadata size for nBlocks blocks: superblock and
// entries rounded up to a block. ok is false when the sizes overflow (the
// constructor's "Overflow in size calculation").
func metadataBytesFor(nBlocks, blockBytes uint64) (metaBytes, dataBytes uint64, ok bool) {
	off := nBlocks * entryBytes
	if off/entryBytes != nBlocks {
		return 0, 0, false
	}
	off += sbBytes
	if off < sbBytes {
		return 0, 0, false
	}
	off = (off + blockBytes - 1) &^ (blockBytes - 1)
	data := nBlocks * blockBytes
	if off == 0 || data/blockBytes != nBlocks || off+data < off {
		return 0, 0, false
	}
	return off, data, true
}

// sizeFor is calculate_memory_size: how many blocks of blockBytes, with
// their metadata, fit in sizeBytes, and the metadata's size in bytes.
// ENOSPC when not one does, EFBIG when too many.
func sizeFor(sizeBytes, blockBytes uint64) (nBlocks, metaBytes uint64, err error) {
	nBlocks = sizeBytes / (blockBytes + entryBytes)
	for {
		if nBlocks == 0 {
			return 0, 0, syscall.ENOSPC
		}
		if nBlocks >= (^uint64(0)-sbBytes)/entryBytes {
			return 0, 0, syscall.EFBIG
		}
		metaBytes = (sbBytes + nBlocks*entryBytes + blockBytes - 1) &^ (blockBytes - 1)
		if metaBytes+nBlocks*blockBytes <= sizeBytes {
			break
		}
		nBlocks--
	}
	if nBlocks >= maxIndex {
		return 0, 0, syscall.EFBIG
	}
	return nBlocks, metaBytes, nil
}

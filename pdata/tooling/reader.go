// Package tooling is what thin-provisioning-tools' programs share when they
// read persistent-data metadata offline (the era_*, cache_* tools): a reader
// of 4096-byte blocks straight from a file, each checked by its validator
// whose failure is the tools' sentence; the damage-visiting walks of btrees,
// arrays and bitsets; the nested report of the *_check programs; and the
// XML they print and read. Errors are the tools' sentences, as they print
// them.
package tooling

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gdmsetup/gdmsetup/pdata/array"
	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/pdata/btree"
)

// ErrMetadataTooSmall is open_tm's refusal of a file without one whole block.
var ErrMetadataTooSmall = errors.New("Metadata is not large enough for superblock.")

// Reader reads 4096-byte metadata blocks from R, NrBlocks of them, as the
// tools' block manager does: no cache, no space map.
type Reader struct {
	R        io.ReaderAt
	NrBlocks uint64
}

// NewReader reads the whole blocks of r, sizeBytes long.
func NewReader(r io.ReaderAt, sizeBytes int64) *Reader {
	return &Reader{R: r, NrBlocks: uint64(sizeBytes) / block.BlockSize}
}

// Read returns block b, refused past the end as block_cache::check_index does.
func (t *Reader) Read(b uint64) ([]byte, error) {
	if b >= t.NrBlocks {
		return nil, fmt.Errorf("block out of bounds (%d >= %d)\n", b, t.NrBlocks)
	}
	buf := make([]byte, block.BlockSize)
	if _, err := t.R.ReadAt(buf, int64(b)*block.BlockSize); err != nil {
		return nil, fmt.Errorf("reading metadata block %d: %w", b, err)
	}
	return buf, nil
}

// Superblock reads block b and checks only its checksum, seeded with
// csumXor (the tools' sb_validator): "bad checksum in superblock".
func (t *Reader) Superblock(b uint64, csumXor uint32) ([]byte, error) {
	d, err := t.Read(b)
	if err != nil {
		return nil, err
	}
	if block.Checksum(d[4:], csumXor) != binary.LittleEndian.Uint32(d) {
		return nil, errors.New("bad checksum in superblock")
	}
	return d, nil
}

// Node reads block b as a btree node (btree_node_validator).
func (t *Reader) Node(b uint64) (btree.Node, error) {
	d, err := t.Read(b)
	if err != nil {
		return nil, err
	}
	if block.Checksum(d[4:], btree.CsumSalt) != binary.LittleEndian.Uint32(d) {
		return nil, fmt.Errorf("bad checksum in btree node (block %d)", b)
	}
	if n := btree.Node(d); n.Blocknr() != b {
		return nil, fmt.Errorf("bad block nr in btree node (block = %d)", b)
	}
	return btree.Node(d), nil
}

// ArrayBlock reads block b as an array block (array_block_validator).
func (t *Reader) ArrayBlock(b uint64) (array.Block, error) {
	d, err := t.Read(b)
	if err != nil {
		return nil, err
	}
	if block.Checksum(d[4:], array.CsumSalt) != binary.LittleEndian.Uint32(d) {
		return nil, errors.New("bad checksum in array block node")
	}
	if binary.LittleEndian.Uint64(d[16:]) != b {
		return nil, errors.New("bad block nr in array block")
	}
	return array.Block(d), nil
}

// ArrayElement is element i of a, valueSize bytes (the tools' element_at:
// entries past nr_entries are refused; so are those past the block).
func ArrayElement(a array.Block, i uint32, valueSize int) ([]byte, error) {
	off := array.HeaderSize + int(i)*valueSize
	if i >= uint32(a.NrEntries()) || off+valueSize > len(a) {
		return nil, errors.New("array_block index out of bounds")
	}
	return a[off : off+valueSize], nil
}

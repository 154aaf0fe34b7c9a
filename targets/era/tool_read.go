package era

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gdmsetup/gdmsetup/pdata/array"
	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/pdata/btree"
)

// The era tools (era_check, era_dump, era_invalidate of thin-provisioning-tools
// 0.9.0) read metadata without a live target and without a space map: each block
// straight from the file, checked by its validator, whose failure is the tools'
// sentence. The tool_*.go files reproduce them; their errors are those sentences,
// as the tools print them.

// Superblock is the era superblock as the era tools decode it (their
// superblock_traits::unpack): the flags and uuid are not read (the tools always
// see a zero uuid), MetadataSnap is 0 when no snapshot is held.
type Superblock struct {
	Blocknr          uint64
	Magic            uint64
	Version          uint32
	DataBlockSectors uint32
	MetaBlockSectors uint32
	NrBlocks         uint32 // the origin's blocks: the era array's length
	CurrentEra       uint32
	CurrentNrBits    uint32 // the current era's writeset (not in the writeset tree)
	CurrentRoot      uint64
	WritesetTreeRoot uint64
	EraArrayRoot     uint64
	MetadataSnap     uint64
}

// errMetadataTooSmall is open_tm's refusal of a file without one whole block.
var errMetadataTooSmall = errors.New("Metadata is not large enough for superblock.")

// toolReader reads 4096-byte metadata blocks from r, nrBlocks of them, as the
// tools' block manager does.
type toolReader struct {
	r        io.ReaderAt
	nrBlocks uint64
}

// read returns block b, refused past the end as block_cache::check_index does.
func (t *toolReader) read(b uint64) ([]byte, error) {
	if b >= t.nrBlocks {
		return nil, fmt.Errorf("block out of bounds (%d >= %d)\n", b, t.nrBlocks)
	}
	buf := make([]byte, block.BlockSize)
	if _, err := t.r.ReadAt(buf, int64(b)*block.BlockSize); err != nil {
		return nil, fmt.Errorf("reading metadata block %d: %w", b, err)
	}
	return buf, nil
}

// superblock reads and decodes the superblock at b; only its checksum is
// checked (sb_validator).
func (t *toolReader) superblock(b uint64) (Superblock, error) {
	d, err := t.read(b)
	if err != nil {
		return Superblock{}, err
	}
	if block.Checksum(d[4:], sbCsumXor) != binary.LittleEndian.Uint32(d) {
		return Superblock{}, errors.New("bad checksum in superblock")
	}
	le32 := func(off int) uint32 { return binary.LittleEndian.Uint32(d[off:]) }
	le64 := func(off int) uint64 { return binary.LittleEndian.Uint64(d[off:]) }
	return Superblock{
		Blocknr: le64(sbOffBlocknr), Magic: le64(sbOffMagic), Version: le32(sbOffVersion),
		DataBlockSectors: le32(sbOffDataBlock), MetaBlockSectors: le32(sbOffMetaBlock),
		NrBlocks: le32(sbOffNrBlocks), CurrentEra: le32(sbOffCurrentEra),
		CurrentNrBits: le32(sbOffWSNrBits), CurrentRoot: le64(sbOffWSRoot),
		WritesetTreeRoot: le64(sbOffWSTreeRoot), EraArrayRoot: le64(sbOffEraArray),
		MetadataSnap: le64(sbOffMetadataSnp),
	}, nil
}

// node reads block b as a btree node (btree_node_validator).
func (t *toolReader) node(b uint64) (btree.Node, error) {
	d, err := t.read(b)
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

// arrayBlock reads block b as an array block (array_block_validator).
func (t *toolReader) arrayBlock(b uint64) (array.Block, error) {
	d, err := t.read(b)
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

// arrayElement is element i of a, valueSize bytes (the tools' element_at:
// entries past nr_entries are refused; we also refuse those past the block).
func arrayElement(a array.Block, i uint32, valueSize int) ([]byte, error) {
	off := array.HeaderSize + int(i)*valueSize
	if i >= uint32(a.NrEntries()) || off+valueSize > len(a) {
		return nil, errors.New("array_block index out of bounds")
	}
	return a[off : off+valueSize], nil
}

// ToolMetadata is era metadata opened read-only as the era tools open it
// (struct metadata with open_type OPEN): the superblock read, nothing else yet.
type ToolMetadata struct {
	rd *toolReader
	SB Superblock
}

// OpenTool opens the era metadata of r, sizeBytes long, reading the superblock
// at block 0 as the tools do (its checksum only is checked).
func OpenTool(r io.ReaderAt, sizeBytes int64) (*ToolMetadata, error) {
	rd := &toolReader{r: r, nrBlocks: uint64(sizeBytes) / block.BlockSize}
	if rd.nrBlocks == 0 {
		return nil, errMetadataTooSmall
	}
	sb, err := rd.superblock(sbLocation)
	if err != nil {
		return nil, err
	}
	return &ToolMetadata{rd: rd, SB: sb}, nil
}

package era

import (
	"encoding/binary"
	"io"

	"github.com/gdmsetup/gdmsetup/pdata/tooling"
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

// superblock decodes the superblock at b (as read_superblock: its checksum
// only is checked).
func superblockAt(t *tooling.Reader, b uint64) (Superblock, error) {
	d, err := t.Superblock(b, sbCsumXor)
	if err != nil {
		return Superblock{}, err
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

// ToolMetadata is era metadata opened read-only as the era tools open it
// (struct metadata with open_type OPEN): the superblock read, nothing else yet.
type ToolMetadata struct {
	rd *tooling.Reader
	SB Superblock
}

// OpenTool opens the era metadata of r, sizeBytes long, reading the superblock
// at block 0 as the tools do (its checksum only is checked).
func OpenTool(r io.ReaderAt, sizeBytes int64) (*ToolMetadata, error) {
	rd := tooling.NewReader(r, sizeBytes)
	if rd.NrBlocks == 0 {
		return nil, tooling.ErrMetadataTooSmall
	}
	sb, err := superblockAt(rd, sbLocation)
	if err != nil {
		return nil, err
	}
	return &ToolMetadata{rd: rd, SB: sb}, nil
}

package era

import (
	"encoding/binary"

	"github.com/gdmsetup/gdmsetup/pdata/block"
)

// Superblock constants and layout (struct superblock_disk of
// dm-era-target.c). Offsets are in bytes from the block's start.
const (
	sbLocation   = 0
	sbMagic      = 2126579579
	sbCsumXor    = 146538381
	sbVersion    = 1
	invalidRoot  = sbLocation // INVALID_WRITESET_ROOT: no current writeset
	minBlockSecs = 8          // MIN_BLOCK_SIZE

	sbOffFlags       = 4
	sbOffBlocknr     = 8
	sbOffMagic       = 32
	sbOffVersion     = 40
	sbOffSMRoot      = 44
	sbEndSMRoot      = 172 // the space map root field is 128 bytes
	sbOffDataBlock   = 172
	sbOffMetaBlock   = 176
	sbOffNrBlocks    = 180
	sbOffCurrentEra  = 184
	sbOffWSNrBits    = 188
	sbOffWSRoot      = 192
	sbOffWSTreeRoot  = 200
	sbOffEraArray    = 208
	sbOffMetadataSnp = 216
)

// superblock is the decoded on-disk superblock (the fields the target uses).
type superblock struct {
	dataBlockSectors uint32
	nrBlocks         uint32
	currentEra       uint32
	current          writesetRef // the current era's writeset
	writesetTreeRoot uint64
	eraArrayRoot     uint64
	metadataSnap     uint64 // block of the held copy; sbLocation when none
}

// writesetRef is struct writeset_disk: a writeset's size in bits and the
// root of its dm-bitset (invalidRoot for none). It is also the value type
// of the writeset tree.
type writesetRef struct {
	nrBits uint32
	root   uint64
}

const writesetRefSize = 12

func (w writesetRef) encode(b []byte) {
	binary.LittleEndian.PutUint32(b[0:], w.nrBits)
	binary.LittleEndian.PutUint64(b[4:], w.root)
}

func decodeWritesetRef(b []byte) writesetRef {
	return writesetRef{nrBits: binary.LittleEndian.Uint32(b[0:]), root: binary.LittleEndian.Uint64(b[4:])}
}

func decodeSuperblock(d []byte) superblock {
	return superblock{
		dataBlockSectors: binary.LittleEndian.Uint32(d[sbOffDataBlock:]),
		nrBlocks:         binary.LittleEndian.Uint32(d[sbOffNrBlocks:]),
		currentEra:       binary.LittleEndian.Uint32(d[sbOffCurrentEra:]),
		current:          decodeWritesetRef(d[sbOffWSNrBits:]),
		writesetTreeRoot: binary.LittleEndian.Uint64(d[sbOffWSTreeRoot:]),
		eraArrayRoot:     binary.LittleEndian.Uint64(d[sbOffEraArray:]),
		metadataSnap:     binary.LittleEndian.Uint64(d[sbOffMetadataSnp:]),
	}
}

// encode is prepare_superblock: every field rewritten (flags and uuid
// zeroed), the space map root copied from smRoot.
func (sb *superblock) encode(d []byte, smRoot []byte) {
	clear(d[sbOffFlags:sbOffMagic])
	binary.LittleEndian.PutUint64(d[sbOffMagic:], sbMagic)
	binary.LittleEndian.PutUint32(d[sbOffVersion:], sbVersion)
	copy(d[sbOffSMRoot:sbEndSMRoot], smRoot)
	binary.LittleEndian.PutUint32(d[sbOffDataBlock:], sb.dataBlockSectors)
	binary.LittleEndian.PutUint32(d[sbOffMetaBlock:], block.SectorsPerBlock)
	binary.LittleEndian.PutUint32(d[sbOffNrBlocks:], sb.nrBlocks)
	binary.LittleEndian.PutUint32(d[sbOffCurrentEra:], sb.currentEra)
	sb.current.encode(d[sbOffWSNrBits:])
	binary.LittleEndian.PutUint64(d[sbOffWSTreeRoot:], sb.writesetTreeRoot)
	binary.LittleEndian.PutUint64(d[sbOffEraArray:], sb.eraArrayRoot)
	binary.LittleEndian.PutUint64(d[sbOffMetadataSnp:], sb.metadataSnap)
}

// sbValidator is the kernel's sb_validator ("superblock").
var sbValidator = &block.SuperblockValidator{Kind: "Era", Magic: sbMagic, CsumXor: sbCsumXor, MinVersion: sbVersion, MaxVersion: sbVersion}

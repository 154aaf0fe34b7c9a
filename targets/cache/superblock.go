package cache

import (
	"encoding/binary"

	"github.com/gdmsetup/gdmsetup/pdata/block"
)

// Superblock constants and layout (struct cache_disk_superblock of
// dm-cache-metadata.c). Offsets are in bytes from the block's start.
const (
	sbLocation = 0
	sbMagic    = 06142003
	sbCsumXor  = 9031977
	minVersion = 1
	maxVersion = 2

	policyNameSize = 16

	sbOffFlags            = 4
	sbOffMagic            = 32
	sbOffVersion          = 40
	sbOffPolicyName       = 44
	sbOffPolicyHintSize   = 60
	sbOffSMRoot           = 64
	sbEndSMRoot           = 192 // the space map root field is 128 bytes
	sbOffMappingRoot      = 192
	sbOffHintRoot         = 200
	sbOffDiscardRoot      = 208
	sbOffDiscardBlockSize = 216
	sbOffDiscardNrBlocks  = 224
	sbOffDataBlockSize    = 232
	sbOffMetaBlockSize    = 236
	sbOffCacheBlocks      = 240
	sbOffCompatFlags      = 244
	sbOffCompatROFlags    = 248
	sbOffIncompatFlags    = 252
	sbOffReadHits         = 256
	sbOffReadMisses       = 260
	sbOffWriteHits        = 264
	sbOffWriteMisses      = 268
	sbOffPolicyVersion    = 272
	sbOffDirtyRoot        = 284

	// Superblock flag bits.
	flagCleanShutdown = 1 << 0
	flagNeedsCheck    = 1 << 1
)

// stats is struct dm_cache_statistics: the hit and miss counters the
// superblock keeps.
type stats struct {
	ReadHits, ReadMisses, WriteHits, WriteMisses uint32
}

// superblock is the decoded on-disk superblock (read_superblock_fields).
type superblock struct {
	flags             uint32
	version           uint32
	policyName        string
	policyVersion     [3]uint32
	policyHintSize    uint32
	mappingRoot       uint64
	hintRoot          uint64
	discardRoot       uint64
	discardSectors    uint64 // discard_block_size, in sectors
	discardNrBlocks   uint64
	dataBlockSectors  uint32
	cacheBlocks       uint32
	incompatFlags     uint32
	compatROFlags     uint32
	stats             stats
	dirtyRoot         uint64 // version 2 only
	metadataBlockSecs uint32
}

func decodeSuperblock(d []byte) superblock {
	le32 := func(off int) uint32 { return binary.LittleEndian.Uint32(d[off:]) }
	le64 := func(off int) uint64 { return binary.LittleEndian.Uint64(d[off:]) }
	name := d[sbOffPolicyName : sbOffPolicyName+policyNameSize]
	n := 0
	for n < len(name) && name[n] != 0 {
		n++
	}
	sb := superblock{
		flags: le32(sbOffFlags), version: le32(sbOffVersion), policyName: string(name[:n]),
		policyHintSize: le32(sbOffPolicyHintSize),
		mappingRoot:    le64(sbOffMappingRoot), hintRoot: le64(sbOffHintRoot), discardRoot: le64(sbOffDiscardRoot),
		discardSectors: le64(sbOffDiscardBlockSize), discardNrBlocks: le64(sbOffDiscardNrBlocks),
		dataBlockSectors: le32(sbOffDataBlockSize), metadataBlockSecs: le32(sbOffMetaBlockSize),
		cacheBlocks:   le32(sbOffCacheBlocks),
		compatROFlags: le32(sbOffCompatROFlags), incompatFlags: le32(sbOffIncompatFlags),
		stats: stats{ReadHits: le32(sbOffReadHits), ReadMisses: le32(sbOffReadMisses),
			WriteHits: le32(sbOffWriteHits), WriteMisses: le32(sbOffWriteMisses)},
	}
	for i := range sb.policyVersion {
		sb.policyVersion[i] = le32(sbOffPolicyVersion + 4*i)
	}
	if sb.version >= 2 {
		sb.dirtyRoot = le64(sbOffDirtyRoot)
	}
	return sb
}

// encode is __commit_transaction's superblock update: every field the
// kernel rewrites at a commit (uuid, magic, version, block sizes and the
// compat flags keep their bytes), the space map root copied from smRoot.
func (sb *superblock) encode(d []byte, smRoot []byte) {
	put32 := func(off int, v uint32) { binary.LittleEndian.PutUint32(d[off:], v) }
	put64 := func(off int, v uint64) { binary.LittleEndian.PutUint64(d[off:], v) }
	put32(sbOffFlags, sb.flags)
	put64(sbOffMappingRoot, sb.mappingRoot)
	if sb.version >= 2 {
		put64(sbOffDirtyRoot, sb.dirtyRoot)
	}
	put64(sbOffHintRoot, sb.hintRoot)
	put64(sbOffDiscardRoot, sb.discardRoot)
	put64(sbOffDiscardBlockSize, sb.discardSectors)
	put64(sbOffDiscardNrBlocks, sb.discardNrBlocks)
	put32(sbOffCacheBlocks, sb.cacheBlocks)
	name := d[sbOffPolicyName : sbOffPolicyName+policyNameSize]
	clear(name)
	copy(name, sb.policyName)
	for i, v := range sb.policyVersion {
		put32(sbOffPolicyVersion+4*i, v)
	}
	put32(sbOffPolicyHintSize, sb.policyHintSize)
	put32(sbOffReadHits, sb.stats.ReadHits)
	put32(sbOffReadMisses, sb.stats.ReadMisses)
	put32(sbOffWriteHits, sb.stats.WriteHits)
	put32(sbOffWriteMisses, sb.stats.WriteMisses)
	copy(d[sbOffSMRoot:sbEndSMRoot], smRoot)
}

// encodeInitial is __write_initial_superblock on a zeroed block: magic,
// version, sizes, roots, and empty policy fields and counters.
func (sb *superblock) encodeInitial(d []byte, smRoot []byte) {
	binary.LittleEndian.PutUint64(d[sbOffMagic:], sbMagic)
	binary.LittleEndian.PutUint32(d[sbOffVersion:], sb.version)
	copy(d[sbOffSMRoot:sbEndSMRoot], smRoot)
	binary.LittleEndian.PutUint64(d[sbOffMappingRoot:], sb.mappingRoot)
	binary.LittleEndian.PutUint64(d[sbOffHintRoot:], sb.hintRoot)
	binary.LittleEndian.PutUint64(d[sbOffDiscardRoot:], sb.discardRoot)
	binary.LittleEndian.PutUint64(d[sbOffDiscardBlockSize:], sb.discardSectors)
	binary.LittleEndian.PutUint64(d[sbOffDiscardNrBlocks:], sb.discardNrBlocks)
	binary.LittleEndian.PutUint32(d[sbOffMetaBlockSize:], block.SectorsPerBlock)
	binary.LittleEndian.PutUint32(d[sbOffDataBlockSize:], sb.dataBlockSectors)
	if sb.version >= 2 {
		binary.LittleEndian.PutUint64(d[sbOffDirtyRoot:], sb.dirtyRoot)
	}
}

// sbValidator is the kernel's sb_validator ("superblock").
var sbValidator = &block.SuperblockValidator{Kind: "Cache", Magic: sbMagic, CsumXor: sbCsumXor, MinVersion: minVersion, MaxVersion: maxVersion}

package verity

import (
	"math/bits"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// maxLevels is DM_VERITY_MAX_LEVELS.
const maxLevels = 63

// tree is the hash tree's geometry on the hash device (verity_ctr): level
// 0 holds the digests of the data blocks, each level above the digests of
// the blocks below, the top level is one block whose digest is the root
// digest; the top level comes first on the device, from hashStartBlock on.
// With one data block there are no levels: the root digest is the data
// block's. It does not change once built.
type tree struct {
	levels           int
	hashPerBlockBits uint              // log2 of the digests a hash block holds
	levelBlock       [maxLevels]uint64 // first hash block of each level (0: the lowest)
	endBlock         uint64            // the hash block after the tree (v->hash_blocks)
}

// newTree lays the tree out for dataBlocks blocks, digestBytes digests in
// hash blocks of 1<<hashBlockBits bytes, from hashStartBlock on.
func newTree(dataBlocks, hashStartBlock uint64, hashBlockBits uint, digestBytes int) (*tree, error) {
	t := &tree{hashPerBlockBits: uint(bits.Len64(uint64(1)<<hashBlockBits/uint64(digestBytes))) - 1}
	if dataBlocks != 0 {
		for t.hashPerBlockBits*uint(t.levels) < 64 && (dataBlocks-1)>>(t.hashPerBlockBits*uint(t.levels)) != 0 {
			t.levels++
		}
	}
	if t.levels > maxLevels {
		return nil, targets.Errorf(syscall.E2BIG, "Too many tree levels")
	}
	pos := hashStartBlock
	for i := t.levels - 1; i >= 0; i-- {
		t.levelBlock[i] = pos
		// the kernel shifts a 64-bit value by (i+1)*bits, which x86 takes modulo 64
		shift := (uint(i+1) * t.hashPerBlockBits) & 63
		blocks := (dataBlocks + uint64(1)<<shift - 1) >> shift
		if pos+blocks < pos {
			return nil, targets.Errorf(syscall.E2BIG, "Hash device offset overflow")
		}
		pos += blocks
	}
	t.endBlock = pos
	return t, nil
}

// hashAt is verity_hash_at_level: the hash block holding the digest of
// dataBlock's ancestor at level, and the digest's index in that block.
func (t *tree) hashAt(dataBlock uint64, level int) (hashBlock uint64, index uint64) {
	position := dataBlock >> (uint(level) * t.hashPerBlockBits)
	return t.levelBlock[level] + position>>t.hashPerBlockBits, position & (1<<t.hashPerBlockBits - 1)
}

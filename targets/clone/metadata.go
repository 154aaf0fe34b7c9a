package clone

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math/bits"
	"slices"

	"github.com/gdmsetup/gdmsetup/pdata/array"
	"github.com/gdmsetup/gdmsetup/pdata/bitset"
	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/pdata/btree"
	"github.com/gdmsetup/gdmsetup/pdata/spacemap"
	"github.com/gdmsetup/gdmsetup/pdata/transaction"
	"github.com/gdmsetup/gdmsetup/targets"
)

// Superblock layout (struct superblock_disk of dm-clone-metadata.c).
const (
	sbMagic        = 0x8af27f64
	sbVersion      = 1
	sbSalt         = 257649492
	sbOffMagic     = 32
	sbOffVersion   = 40
	sbOffSMRoot    = 44
	sbOffRegion    = 172
	sbOffTarget    = 180
	sbOffBitset    = 188
	sbEndSMRoot    = sbOffRegion
	metaCacheBlock = 64
)

var sbValidator = &block.SaltedValidator{Kind: "clone superblock", Salt: sbSalt, LocationOff: 8}

// errMismatch is the kernel's -EINVAL for a table whose region or target
// size differs from the metadata's.
var errMismatch = errors.New("Region and/or target size don't match the ones in metadata")

// metadata is the on-disk state of a clone: superblock, metadata space map
// and the hydration bitset (dm-clone-metadata.c), plus the in-core copy of
// the bitset that I/O consults.
//
// Concurrency: not safe for concurrent use; Clone serialises every call
// with its commitMu and copies words in and out under its own mu.
type metadata struct {
	dev           targets.Dev
	bm            *block.Manager
	tm            *transaction.Manager
	sm            *spacemap.Metadata
	words         *array.Info
	root          uint64
	regionSectors uint64
	targetSectors uint64
	nrRegions     uint64
	// legacy holds the settings record an earlier gdmsetup kept in the
	// superblock's tail (see decodeLegacyRecord), if it had one.
	legacy *settings
}

// openMetadata opens the clone metadata on dev, formatting it first when
// its superblock is all zeros (__superblock_all_zeroes). It returns the
// in-core hydration bitmap (one bit per region, words of 64).
func openMetadata(dev targets.Dev, targetSectors, regionSectors uint64) (*metadata, []uint64, error) {
	md := &metadata{dev: dev, regionSectors: regionSectors, targetSectors: targetSectors,
		nrRegions: (targetSectors + regionSectors - 1) / regionSectors}
	bm, err := block.NewManager(targets.BlockDev{Dev: dev}, metaCacheBlock, false)
	if err != nil {
		return nil, nil, err
	}
	if bm.NrBlocks() < 1 {
		return nil, nil, fmt.Errorf("metadata device %s holds no whole 4096-byte block", dev.Name())
	}
	md.bm = bm
	sb := make([]byte, block.BlockSize)
	if _, err := dev.ReadAt(sb, 0); err != nil {
		return nil, nil, fmt.Errorf("reading the superblock: %w", err)
	}
	if block.AllZero(sb) {
		if err := md.format(); err != nil {
			return nil, nil, fmt.Errorf("formatting %s: %w", dev.Name(), err)
		}
		return md, make([]uint64, bitset.NrWords(md.nrRegions)), nil
	}
	if err := sbValidator.Check(sb, 0); err != nil {
		return nil, nil, fmt.Errorf("superblock of %s: %w", dev.Name(), err)
	}
	if m := binary.LittleEndian.Uint64(sb[sbOffMagic:]); m != sbMagic {
		return nil, nil, fmt.Errorf("superblock of %s: magic %#x, want %#x", dev.Name(), m, sbMagic)
	}
	if v := binary.LittleEndian.Uint32(sb[sbOffVersion:]); v != sbVersion {
		return nil, nil, fmt.Errorf("Clone metadata version %d found, but only versions between %d and %d supported.", v, sbVersion, sbVersion)
	}
	if binary.LittleEndian.Uint64(sb[sbOffRegion:]) != regionSectors || binary.LittleEndian.Uint64(sb[sbOffTarget:]) != targetSectors {
		return nil, nil, errMismatch
	}
	md.root = binary.LittleEndian.Uint64(sb[sbOffBitset:])
	if st, ok := decodeLegacyRecord(sb); ok {
		md.legacy = &st
	}
	if md.tm, md.sm, err = spacemap.OpenMetadata(bm, sb[sbOffSMRoot:sbEndSMRoot]); err != nil {
		return nil, nil, fmt.Errorf("space map of %s: %w", dev.Name(), err)
	}
	md.words = array.NewInfo(md.tm, wordType)
	bitmap := make([]uint64, bitset.NrWords(md.nrRegions))
	var n uint64
	err = md.words.Walk(md.root, func(i uint64, v []byte) error {
		if i >= uint64(len(bitmap)) {
			return fmt.Errorf("hydration bitset has word %d, beyond %d regions", i, md.nrRegions)
		}
		bitmap[i] = binary.LittleEndian.Uint64(v)
		n++
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("hydration bitset of %s: %w", dev.Name(), err)
	}
	if n != uint64(len(bitmap)) {
		return nil, nil, fmt.Errorf("hydration bitset of %s: %d words, want %d", dev.Name(), n, len(bitmap))
	}
	if tail := md.nrRegions % 64; tail != 0 {
		bitmap[len(bitmap)-1] &= 1<<tail - 1
	}
	return md, bitmap, nil
}

// wordType is the array value of a dm-bitset: one little-endian u64.
var wordType = btree.ValueType{Size: 8}

// format is __format_metadata: a fresh space map over the whole device, an
// empty bitset grown to nrRegions clear bits, then the first commit.
func (md *metadata) format() error {
	var err error
	if md.tm, md.sm, err = spacemap.CreateMetadata(md.bm, 0, md.bm.NrBlocks()); err != nil {
		return err
	}
	md.words = array.NewInfo(md.tm, wordType)
	if md.root, err = md.words.Empty(); err != nil {
		return err
	}
	zero := make([]byte, 8)
	if md.root, err = md.words.Resize(md.root, 0, bitset.NrWords(md.nrRegions), zero); err != nil {
		return err
	}
	return md.commit(nil)
}

// commit writes the given words (index → in-core value, a superset of what
// is on disk since bits are only ever set), then commits the transaction:
// every other block is durable before the superblock. The words are set in
// increasing index order, as __flush_dmap does, which decides the blocks
// their shadows take. The superblock is written from zeros with the
// kernel's fields only (__prepare_superblock).
func (md *metadata) commit(words map[uint64]uint64) error {
	var buf [8]byte
	for _, i := range slices.Sorted(maps.Keys(words)) {
		binary.LittleEndian.PutUint64(buf[:], words[i])
		root, err := md.words.Set(md.root, i, buf[:])
		if err != nil {
			return fmt.Errorf("hydration bitset word %d: %w", i, err)
		}
		md.root = root
	}
	if err := md.tm.PreCommit(); err != nil {
		return err
	}
	sb, err := md.bm.WriteLockZero(0, sbValidator)
	if err != nil {
		return fmt.Errorf("superblock: %w", err)
	}
	d := sb.Data()
	binary.LittleEndian.PutUint64(d[sbOffMagic:], sbMagic)
	binary.LittleEndian.PutUint32(d[sbOffVersion:], sbVersion)
	md.sm.CopyRoot(d[sbOffSMRoot:sbEndSMRoot])
	binary.LittleEndian.PutUint64(d[sbOffRegion:], md.regionSectors)
	binary.LittleEndian.PutUint64(d[sbOffTarget:], md.targetSectors)
	binary.LittleEndian.PutUint64(d[sbOffBitset:], md.root)
	if err := md.tm.Commit(sb); err != nil {
		return err
	}
	md.legacy = nil
	return nil
}

// usage returns the used and total metadata blocks.
func (md *metadata) usage() (used, total uint64) {
	total, _ = md.sm.NrBlocks()
	free, _ := md.sm.NrFree()
	return total - free, total
}

// popcount counts the set bits of a bitmap.
func popcount(bitmap []uint64) uint64 {
	var n uint64
	for _, w := range bitmap {
		n += uint64(bits.OnesCount64(w))
	}
	return n
}

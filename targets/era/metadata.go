package era

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"

	"github.com/gdmsetup/gdmsetup/errno"
	"github.com/gdmsetup/gdmsetup/pdata/array"
	"github.com/gdmsetup/gdmsetup/pdata/bitset"
	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/pdata/btree"
	"github.com/gdmsetup/gdmsetup/pdata/spacemap"
	"github.com/gdmsetup/gdmsetup/pdata/transaction"
	"github.com/gdmsetup/gdmsetup/targets"
)

// metaCacheBlocks is the block manager's cache for era metadata.
const metaCacheBlocks = 64

// maxOriginBlocks bounds the origin's blocks (valid_nr_blocks: test_bit
// and the 32-bit dm-bitset sizes).
const maxOriginBlocks = 1 << 31

// metadata is struct era_metadata: the superblock's fields in core, the
// transaction and space map, the writeset tree (era → archived writeset),
// the era array (block → era of its last write, once digested) and the
// current era's writeset on disk and in core.
//
// Concurrency: not safe for concurrent use; Era calls it from its worker
// (Era.workMu held) only. The in-core bits (cur) are published with an
// atomic store and read by I/O without a lock.
type metadata struct {
	dev          targets.Dev
	bm           *block.Manager
	tm           *transaction.Manager
	sm           *spacemap.Metadata
	blockSectors uint32
	nrBlocks     uint32
	currentEra   uint32
	current      writesetRef // on-disk current writeset (root invalidRoot: none)
	cur          atomic.Pointer[writesetBits]
	treeRoot     uint64
	eraRoot      uint64
	snap         uint64
	tree         *btree.Info    // the writeset tree
	eras         *array.Info    // the era array (__le32 values)
	bits         *bitset.Bitset // md->bitset_info: the current writeset's cache
	archived     bool           // a writeset was archived since the digest last started
	committedSM  bool           // the space map was committed since format
}

// openMetadata is metadata_open: formats dev when its superblock block is
// all zeros (and mayFormat), else opens it, refusing another data block
// size. Errors carry the kernel's errno; logf gets the kernel's DMERR
// lines (after "device-mapper: ").
func openMetadata(dev targets.Dev, blockSectors uint32, mayFormat bool, logf func(string, ...any)) (*metadata, error) {
	md := &metadata{dev: dev, blockSectors: blockSectors, current: writesetRef{root: invalidRoot}}
	md.cur.Store(&writesetBits{})
	bm, raw, err := targets.OpenMetadataBlocks(dev, metaCacheBlocks, func() { logf("era: could not create block manager") })
	if err != nil {
		return nil, err
	}
	md.bm = bm
	if block.AllZero(raw) {
		if !mayFormat {
			return nil, targets.ErrUnformattedMetadata
		}
		if err := md.format(); err != nil {
			return nil, fmt.Errorf("formatting %s: %w", dev.Name(), errno.Or(err, syscall.ENOSPC))
		}
		return md, nil
	}
	if err := sbValidator.Check(raw, sbLocation); err != nil {
		var se *block.SuperblockError
		if errors.As(err, &se) {
			logf("era: %s", se.Msg)
		}
		logf("block manager: superblock validator check failed for block 0")
		logf("era: couldn't read_lock superblock")
		return nil, fmt.Errorf("superblock of %s: %w", dev.Name(), err)
	}
	sb := decodeSuperblock(raw)
	if sb.dataBlockSectors != blockSectors {
		logf("era: changing the data block size (from %d to %d) is not supported", sb.dataBlockSectors, blockSectors)
		return nil, fmt.Errorf("superblock of %s: data block size %d, table says %d: %w", dev.Name(), sb.dataBlockSectors, blockSectors, syscall.EINVAL)
	}
	if md.tm, md.sm, err = spacemap.OpenMetadata(bm, raw[sbOffSMRoot:sbEndSMRoot]); err != nil {
		logf("era: dm_tm_open_with_sm failed")
		return nil, fmt.Errorf("space map of %s: %w", dev.Name(), errno.Or(err, syscall.EILSEQ))
	}
	md.setupInfos()
	md.nrBlocks, md.currentEra, md.current = sb.nrBlocks, sb.currentEra, sb.current
	md.treeRoot, md.eraRoot, md.snap = sb.writesetTreeRoot, sb.eraArrayRoot, sb.metadataSnap
	md.archived, md.committedSM = true, true
	return md, nil
}

// setupInfos is setup_infos: the bitset, writeset tree and era array
// descriptions over md.tm.
func (md *metadata) setupInfos() {
	md.bits = bitset.New(md.tm)
	md.tree = &btree.Info{TM: md.tm, Levels: 1, Value: btree.ValueType{
		Size: writesetRefSize,
		// ws_inc and ws_dec: an archived writeset's bitset is shared
		// with a metadata snapshot's tree, and dropped with its entry.
		Inc: func(v []byte) error { return md.tm.Inc(decodeWritesetRef(v).root) },
		Dec: func(v []byte) error { return md.bits.Array().Del(decodeWritesetRef(v).root) },
		Equal: func(a, b []byte) bool {
			return bytes.Equal(a[:writesetRefSize], b[:writesetRefSize])
		},
	}}
	md.eras = array.NewInfo(md.tm, btree.ValueType{Size: 4})
}

// format is format_metadata: a space map over the whole device, an empty
// writeset tree and era array, then the superblock's first commit (the
// kernel's write_superblock, which does not commit the space map first).
func (md *metadata) format() error {
	var err error
	if md.tm, md.sm, err = spacemap.CreateMetadata(md.bm, sbLocation, md.bm.NrBlocks()); err != nil {
		return err
	}
	md.setupInfos()
	if md.treeRoot, err = md.tree.Empty(); err != nil {
		return fmt.Errorf("couldn't create new writeset tree: %w", err)
	}
	if md.eraRoot, err = md.eras.Empty(); err != nil {
		return fmt.Errorf("couldn't create era array: %w", err)
	}
	sb, err := md.bm.WriteLockZero(sbLocation, sbValidator)
	if err != nil {
		return fmt.Errorf("superblock: %w", err)
	}
	md.prepareSuperblock(sb.Data())
	return md.tm.Commit(sb)
}

// prepareSuperblock fills d from the in-core state.
func (md *metadata) prepareSuperblock(d []byte) {
	var smRoot [sbEndSMRoot - sbOffSMRoot]byte
	md.sm.CopyRoot(smRoot[:])
	sb := superblock{dataBlockSectors: md.blockSectors, nrBlocks: md.nrBlocks, currentEra: md.currentEra,
		current: md.current, writesetTreeRoot: md.treeRoot, eraArrayRoot: md.eraRoot, metadataSnap: md.snap}
	sb.encode(d, smRoot[:])
}

// commit is metadata_commit: the current writeset's cached word written
// back, the space map committed, then the superblock.
func (md *metadata) commit() error {
	if md.current.root != invalidRoot {
		root, err := md.bits.Flush(md.current.root)
		if err != nil {
			return fmt.Errorf("bitset flush failed: %w", err)
		}
		md.current.root = root
	}
	if err := md.tm.PreCommit(); err != nil {
		return fmt.Errorf("pre commit failed: %w", err)
	}
	sb, err := md.bm.WriteLock(sbLocation, sbValidator)
	if err != nil {
		return fmt.Errorf("superblock lock failed: %w", err)
	}
	md.prepareSuperblock(sb.Data())
	if err := md.tm.Commit(sb); err != nil {
		return err
	}
	md.committedSM = true
	return nil
}

// resize is metadata_resize: the era array grown or shrunk to newBlocks
// (new entries era 0) and fresh in-core writesets. The caller commits.
func (md *metadata) resize(newBlocks uint64) error {
	if newBlocks >= maxOriginBlocks {
		return fmt.Errorf("Invalid number of origin blocks %d: %w", newBlocks, syscall.EINVAL)
	}
	root, err := md.eras.Resize(md.eraRoot, uint64(md.nrBlocks), newBlocks, make([]byte, 4))
	if err != nil {
		return fmt.Errorf("era array resize from %d to %d blocks: %w", md.nrBlocks, newBlocks, err)
	}
	md.eraRoot, md.nrBlocks = root, uint32(newBlocks)
	md.cur.Store(newWritesetBits(newBlocks))
	return nil
}

// archive is metadata_era_archive: the current writeset flushed and
// inserted into the writeset tree under the current era.
func (md *metadata) archive() error {
	root, err := md.bits.Flush(md.current.root)
	if err != nil {
		return fmt.Errorf("dm_bitset_flush failed: %w", err)
	}
	md.current.root = root
	var v [writesetRefSize]byte
	md.current.encode(v[:])
	if md.treeRoot, err = md.tree.Insert(md.treeRoot, []uint64{uint64(md.currentEra)}, v[:]); err != nil {
		return fmt.Errorf("couldn't insert writeset into btree: %w", err)
	}
	md.current.root = invalidRoot
	md.archived = true
	return nil
}

// newEra is metadata_new_era: a fresh writeset of nrBlocks clear bits, on
// disk and in core, and the era moves on.
func (md *metadata) newEra() error {
	root, err := md.bits.Empty()
	if err == nil {
		root, err = md.bits.Resize(root, 0, uint64(md.nrBlocks), false)
	}
	if err != nil {
		return fmt.Errorf("writeset_init failed: %w", err)
	}
	md.current = writesetRef{nrBits: md.nrBlocks, root: root}
	md.cur.Store(newWritesetBits(uint64(md.nrBlocks)))
	md.currentEra++
	return nil
}

// rollover is metadata_era_rollover (and metadata_checkpoint): archive the
// current writeset if there is one, then start a new era.
func (md *metadata) rollover() error {
	if md.current.root != invalidRoot {
		if err := md.archive(); err != nil {
			return err
		}
	}
	return md.newEra()
}

// errSnapExists and errNoSnap are the snapshot messages' refusals; their
// text is the kernel's DMERR line.
var (
	errSnapExists = fmt.Errorf("metadata_take_snap: metadata snapshot already exists: %w", syscall.EINVAL)
	errNoSnap     = fmt.Errorf("metadata_drop_snap: no snap to drop: %w", syscall.EINVAL)
)

// takeSnap is metadata_take_snap: roll over, commit, then copy the
// superblock to a new block that holds references on the writeset tree
// and era array roots (the caller commits again).
func (md *metadata) takeSnap() error {
	if md.snap != sbLocation {
		return errSnapExists
	}
	if err := md.rollover(); err != nil {
		return fmt.Errorf("metadata_take_snap: era rollover failed: %w", err)
	}
	if err := md.commit(); err != nil {
		return fmt.Errorf("metadata_take_snap: pre commit failed: %w", err)
	}
	if err := md.tm.Inc(sbLocation); err != nil {
		return fmt.Errorf("metadata_take_snap: couldn't increment superblock: %w", err)
	}
	cp, inc, err := md.tm.Shadow(sbLocation, sbValidator)
	if err != nil {
		return fmt.Errorf("metadata_take_snap: couldn't shadow superblock: %w", err)
	}
	loc := cp.Nr()
	sbValidator.Prepare(cp.Data(), loc)
	md.tm.Unlock(cp)
	if !inc {
		return fmt.Errorf("metadata_take_snap: superblock copy %d was not shared", loc)
	}
	if err := md.tm.Inc(md.treeRoot); err != nil {
		return fmt.Errorf("metadata_take_snap: couldn't inc writeset tree root: %w", err)
	}
	if err := md.tm.Inc(md.eraRoot); err != nil {
		return fmt.Errorf("metadata_take_snap: couldn't inc era tree root: %w", err)
	}
	md.snap = loc
	return nil
}

// dropSnap is metadata_drop_snap: release the held copy's trees and block.
func (md *metadata) dropSnap() error {
	if md.snap == sbLocation {
		return errNoSnap
	}
	loc := md.snap
	var held superblock
	err := md.tm.View(loc, sbValidator, func(d []byte) error {
		held = decodeSuperblock(d)
		return nil
	})
	if err != nil {
		return fmt.Errorf("metadata_drop_snap: couldn't read lock superblock clone: %w", err)
	}
	md.snap = sbLocation
	if err := md.tree.Del(held.writesetTreeRoot); err != nil {
		return fmt.Errorf("metadata_drop_snap: error deleting writeset tree clone: %w", err)
	}
	if err := md.eras.Del(held.eraArrayRoot); err != nil {
		return fmt.Errorf("metadata_drop_snap: error deleting era array clone: %w", err)
	}
	return md.tm.Dec(loc)
}

// stats is metadata_get_stats: used and total metadata blocks.
func (md *metadata) stats() (used, total uint64, err error) {
	free, err := md.sm.NrFree()
	if err != nil {
		return 0, 0, err
	}
	total, err = md.sm.NrBlocks()
	if err != nil {
		return 0, 0, err
	}
	return total - free, total, nil
}

// loadCurrentBits reads the current writeset's bits from disk into core
// (a table rebuilt in a new process: the kernel's in-core bits equal the
// committed ones, since a bit is set in core only after its commit).
func (md *metadata) loadCurrentBits(nrBlocks uint64) error {
	cur := newWritesetBits(nrBlocks)
	md.cur.Store(cur)
	if md.current.root == invalidRoot {
		return nil
	}
	return md.bits.Array().Walk(md.current.root, func(i uint64, v []byte) error {
		if i < uint64(len(cur.words)) {
			cur.words[i].Store(binary.LittleEndian.Uint64(v))
		}
		return nil
	})
}

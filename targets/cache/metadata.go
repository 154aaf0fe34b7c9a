package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
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

// metaCacheBlocks is the block manager's cache for cache metadata.
const metaCacheBlocks = 64

// Mapping value flags (enum mapping_bits): the low 16 bits of a mapping,
// the origin block in the high 48.
const (
	mValid    = 1
	mDirty    = 2 // metadata version 1 only
	flagsMask = 1<<16 - 1
)

func packMapping(oblock uint64, flags uint64) []byte {
	var v [8]byte
	binary.LittleEndian.PutUint64(v[:], oblock<<16|flags&flagsMask)
	return v[:]
}

func unpackMapping(v []byte) (oblock uint64, flags uint64) {
	x := binary.LittleEndian.Uint64(v)
	return x >> 16, x & flagsMask
}

// metadata is struct dm_cache_metadata: the superblock's fields in core
// (sb, as read at the start of the transaction and changed since), the
// mapping array (cache block → origin block and flags), the hint array,
// the discard bitset and, for version 2, the dirty bitset.
//
// Concurrency: not safe for concurrent use; Cache calls it with Cache.mu held.
type metadata struct {
	dev      targets.Dev
	bm       *block.Manager
	tm       *transaction.Manager
	sm       *spacemap.Metadata
	sb       superblock
	mappings *array.Info
	hints    *array.Info
	discards *bitset.Bitset
	dirty    *bitset.Bitset
	// cleanWhenOpened is the superblock's clean-shutdown flag as found
	// when the metadata was opened: only then are its dirty bits and
	// discards believed.
	cleanWhenOpened bool
	changed         bool // cmd->changed: something to commit
	readOnly        bool
}

// openMetadata is metadata_open: formats dev when its superblock block is
// all zeros (and mayFormat), else opens it, refusing another data block
// size or unknown incompatible features; then starts a transaction with
// the clean-shutdown flag cleared on disk. Errors carry the kernel's errno;
// logf gets the kernel's DMERR lines (after "device-mapper: ").
func openMetadata(dev targets.Dev, blockSectors uint32, mayFormat bool, version uint32, logf func(string, ...any)) (*metadata, error) {
	md := &metadata{dev: dev, changed: true}
	md.sb.version, md.sb.dataBlockSectors, md.sb.policyHintSize = version, blockSectors, hintSize
	bm, raw, err := targets.OpenMetadataBlocks(dev, metaCacheBlocks, func() { logf("cache metadata: could not create block manager") })
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
	} else if err := md.open(raw, blockSectors, logf); err != nil {
		return nil, err
	}
	if err := md.beginTransactionFlags(false); err != nil {
		return nil, fmt.Errorf("superblock of %s: %w", dev.Name(), err)
	}
	return md, nil
}

// open is __open_metadata on the superblock's bytes raw.
func (md *metadata) open(raw []byte, blockSectors uint32, logf func(string, ...any)) error {
	dev := md.dev
	if err := sbValidator.Check(raw, sbLocation); err != nil {
		var se *block.SuperblockError
		if errors.As(err, &se) {
			logf("cache metadata: %s", se.Msg)
		}
		logf("block manager: superblock validator check failed for block 0")
		logf("cache metadata: couldn't read lock superblock")
		return fmt.Errorf("superblock of %s: %w", dev.Name(), err)
	}
	sb := decodeSuperblock(raw)
	if sb.dataBlockSectors != blockSectors {
		logf("cache metadata: changing the data block size (from %d to %d) is not supported", sb.dataBlockSectors, blockSectors)
		return fmt.Errorf("superblock of %s: data block size %d, table says %d: %w", dev.Name(), sb.dataBlockSectors, blockSectors, syscall.EINVAL)
	}
	if sb.incompatFlags != 0 {
		logf("cache metadata: could not access metadata due to unsupported optional features (%x).", sb.incompatFlags)
		return fmt.Errorf("superblock of %s: incompatible features %#x: %w", dev.Name(), sb.incompatFlags, syscall.EINVAL)
	}
	if sb.compatROFlags != 0 {
		logf("cache metadata: could not access metadata RDWR due to unsupported optional features (%x).", sb.compatROFlags)
		return fmt.Errorf("superblock of %s: read-only compatible features %#x: %w", dev.Name(), sb.compatROFlags, syscall.EINVAL)
	}
	var err error
	if md.tm, md.sm, err = spacemap.OpenMetadata(md.bm, raw[sbOffSMRoot:sbEndSMRoot]); err != nil {
		logf("cache metadata: tm_open_with_sm failed")
		return fmt.Errorf("space map of %s: %w", dev.Name(), errno.Or(err, syscall.EILSEQ))
	}
	md.setupInfos()
	md.cleanWhenOpened = sb.flags&flagCleanShutdown != 0
	return nil
}

// setupInfos is __setup_mapping_info and the bitsets' init over md.tm.
func (md *metadata) setupInfos() {
	md.mappings = array.NewInfo(md.tm, btree.ValueType{Size: 8})
	md.hints = array.NewInfo(md.tm, btree.ValueType{Size: 4})
	md.discards = bitset.New(md.tm)
	md.dirty = bitset.New(md.tm)
}

// v2 reports whether dirty bits live in their own bitset (separate_dirty_bits).
func (md *metadata) v2() bool { return md.sb.version >= 2 }

// format is __format_metadata: a space map over the whole device, an
// empty mapping array, dirty bitset (version 2) and discard bitset, then
// the initial superblock, committed.
func (md *metadata) format() error {
	var err error
	if md.tm, md.sm, err = spacemap.CreateMetadata(md.bm, sbLocation, md.bm.NrBlocks()); err != nil {
		return fmt.Errorf("tm_create_with_sm failed: %w", err)
	}
	md.setupInfos()
	if md.sb.mappingRoot, err = md.mappings.Empty(); err != nil {
		return err
	}
	if md.v2() {
		if md.sb.dirtyRoot, err = md.dirty.Empty(); err != nil {
			return err
		}
	}
	if md.sb.discardRoot, err = md.discards.Empty(); err != nil {
		return err
	}
	if err := md.tm.PreCommit(); err != nil {
		return err
	}
	var smRoot [sbEndSMRoot - sbOffSMRoot]byte
	md.sm.CopyRoot(smRoot[:])
	sb, err := md.bm.WriteLockZero(sbLocation, sbValidator)
	if err != nil {
		return fmt.Errorf("superblock: %w", err)
	}
	md.sb.encodeInitial(sb.Data(), smRoot[:])
	if err := md.tm.Commit(sb); err != nil {
		return err
	}
	md.cleanWhenOpened = true
	return nil
}

// beginTransactionFlags is __begin_transaction_flags: the superblock's
// clean-shutdown flag set or cleared in place, its fields read back into
// core, the block written out.
func (md *metadata) beginTransactionFlags(clean bool) error {
	b, err := md.bm.WriteLock(sbLocation, sbValidator)
	if err != nil {
		return err
	}
	d := b.Data()
	flags := binary.LittleEndian.Uint32(d[sbOffFlags:])
	flags = mutateFlags(flags, clean)
	binary.LittleEndian.PutUint32(d[sbOffFlags:], flags)
	md.readFields(d)
	md.bm.Unlock(b)
	return md.bm.Flush()
}

func mutateFlags(flags uint32, clean bool) uint32 {
	if clean {
		return flags | flagCleanShutdown
	}
	return flags &^ flagCleanShutdown
}

// readFields is read_superblock_fields.
func (md *metadata) readFields(d []byte) {
	md.sb = decodeSuperblock(d)
	md.changed = false
}

// beginTransaction is __begin_transaction: the superblock read again.
func (md *metadata) beginTransaction() error {
	return md.bm.View(sbLocation, sbValidator, func(d []byte) error {
		md.readFields(d)
		return nil
	})
}

// commit is dm_cache_commit: the bitsets' cached words written back, the
// space map committed, the superblock written with the clean-shutdown
// flag set or cleared, then a new transaction begun.
func (md *metadata) commit(clean bool) error {
	if md.readOnly {
		return fmt.Errorf("metadata of %s is read-only: %w", md.dev.Name(), syscall.EINVAL)
	}
	var err error
	if md.v2() {
		if md.sb.dirtyRoot, err = md.dirty.Flush(md.sb.dirtyRoot); err != nil {
			return err
		}
	}
	if md.sb.discardRoot, err = md.discards.Flush(md.sb.discardRoot); err != nil {
		return err
	}
	if err := md.tm.PreCommit(); err != nil {
		return err
	}
	var smRoot [sbEndSMRoot - sbOffSMRoot]byte
	md.sm.CopyRoot(smRoot[:])
	b, err := md.bm.WriteLock(sbLocation, sbValidator)
	if err != nil {
		return fmt.Errorf("superblock lock failed: %w", err)
	}
	sb := md.sb
	sb.flags = mutateFlags(sb.flags, clean)
	sb.encode(b.Data(), smRoot[:])
	if err := md.tm.Commit(b); err != nil {
		return err
	}
	return md.beginTransaction()
}

// resize is dm_cache_resize: the mapping array (and version 2's dirty
// bitset) grown or shrunk to newBlocks; shrinking refuses dirty blocks.
func (md *metadata) resize(newBlocks uint64, logf func(string, ...any)) error {
	old := uint64(md.sb.cacheBlocks)
	if newBlocks < old {
		for cb := newBlocks; cb < old; cb++ {
			dirty, err := md.isDirty(cb)
			if err != nil {
				return err
			}
			if dirty {
				logf("cache metadata: cache block %d is dirty", cb)
				logf("cache metadata: unable to shrink cache due to dirty blocks")
				return fmt.Errorf("cache block %d is dirty: %w", cb, syscall.EINVAL)
			}
		}
	}
	root, err := md.mappings.Resize(md.sb.mappingRoot, old, newBlocks, packMapping(0, 0))
	if err != nil {
		return fmt.Errorf("mapping array resize from %d to %d blocks: %w", old, newBlocks, err)
	}
	md.sb.mappingRoot = root
	if md.v2() {
		if md.sb.dirtyRoot, err = md.dirty.Resize(md.sb.dirtyRoot, old, newBlocks, false); err != nil {
			return fmt.Errorf("dirty bitset resize: %w", err)
		}
	}
	md.sb.cacheBlocks = uint32(newBlocks)
	md.changed = true
	return nil
}

// isDirty reports whether cache block cb is mapped and dirty on disk.
func (md *metadata) isDirty(cb uint64) (bool, error) {
	if md.v2() {
		set, root, err := md.dirty.TestBit(md.sb.dirtyRoot, cb)
		md.sb.dirtyRoot = root
		return set, err
	}
	v := make([]byte, 8)
	if err := md.mappings.Get(md.sb.mappingRoot, cb, v); err != nil {
		return false, err
	}
	_, flags := unpackMapping(v)
	return flags&mValid != 0 && flags&mDirty != 0, nil
}

// discardResize is dm_cache_discard_bitset_resize.
func (md *metadata) discardResize(discardSectors, nrBlocks uint64) error {
	root, err := md.discards.Resize(md.sb.discardRoot, md.sb.discardNrBlocks, nrBlocks, false)
	if err == nil {
		md.sb.discardRoot = root
		md.sb.discardSectors, md.sb.discardNrBlocks = discardSectors, nrBlocks
	}
	md.changed = true
	return err
}

// setDiscard is dm_cache_set_discard.
func (md *metadata) setDiscard(dblock uint64, discarded bool) error {
	var err error
	if discarded {
		md.sb.discardRoot, err = md.discards.SetBit(md.sb.discardRoot, dblock)
	} else {
		md.sb.discardRoot, err = md.discards.ClearBit(md.sb.discardRoot, dblock)
	}
	if err != nil {
		return err
	}
	md.changed = true
	return nil
}

// insertMapping is dm_cache_insert_mapping: cblock holds oblock (clean in
// version 1's flags).
func (md *metadata) insertMapping(cblock, oblock uint64) error {
	return md.setMapping(cblock, packMapping(oblock, mValid))
}

// removeMapping is dm_cache_remove_mapping.
func (md *metadata) removeMapping(cblock uint64) error {
	return md.setMapping(cblock, packMapping(0, 0))
}

func (md *metadata) setMapping(cblock uint64, v []byte) error {
	root, err := md.mappings.Set(md.sb.mappingRoot, cblock, v)
	if err != nil {
		return fmt.Errorf("mapping of cache block %d: %w", cblock, err)
	}
	md.sb.mappingRoot = root
	md.changed = true
	return nil
}

// loadedMapping is one valid mapping as dm_cache_load_mappings gives it.
type loadedMapping struct {
	oblock, cblock uint64
	dirty          bool
	hint           uint32
	hintValid      bool
}

// loadMappings is dm_cache_load_mappings: fn gets every valid mapping in
// cache block order. Dirty bits are believed only after a clean shutdown
// (else every mapping is dirty); hints only then and when the policy's
// name, major version and hint size are the ones stored.
func (md *metadata) loadMappings(p policyID, fn func(loadedMapping) error) error {
	n := uint64(md.sb.cacheBlocks)
	if n == 0 {
		return nil
	}
	hintsValid := md.cleanWhenOpened && md.sb.policyName == p.name && md.sb.policyVersion[0] == p.version[0] &&
		md.sb.policyHintSize == hintSize && md.sb.hintRoot != 0 && md.sb.policyHintSize != 0
	mc, err := md.mappings.NewCursor(md.sb.mappingRoot, n)
	if err != nil {
		return fmt.Errorf("mapping array: %w", err)
	}
	var hc *array.Cursor
	if hintsValid {
		if hc, err = md.hints.NewCursor(md.sb.hintRoot, n); err != nil {
			return fmt.Errorf("hint array: %w", err)
		}
	}
	var dc *bitset.Cursor
	if md.v2() {
		if dc, err = md.dirty.NewCursor(md.sb.dirtyRoot, n); err != nil {
			return fmt.Errorf("dirty bitset: %w", err)
		}
	}
	for cb := uint64(0); ; cb++ {
		oblock, flags := unpackMapping(mc.Value())
		if flags&mValid != 0 {
			m := loadedMapping{oblock: oblock, cblock: cb, dirty: true, hintValid: hintsValid}
			if hintsValid {
				m.hint = binary.LittleEndian.Uint32(hc.Value())
			}
			if md.cleanWhenOpened {
				if dc != nil {
					m.dirty = dc.Value()
				} else {
					m.dirty = flags&mDirty != 0
				}
			}
			if err := fn(m); err != nil {
				return err
			}
		}
		if cb >= n-1 {
			return nil
		}
		if err := mc.Next(); err != nil {
			return fmt.Errorf("mapping array at cache block %d: %w", cb+1, err)
		}
		if hc != nil {
			if err := hc.Next(); err != nil {
				hc, hintsValid = nil, false
			}
		}
		if dc != nil {
			if err := dc.Next(); err != nil {
				return fmt.Errorf("dirty bitset at cache block %d: %w", cb+1, err)
			}
		}
	}
}

// loadDiscards is dm_cache_load_discards: after a clean shutdown fn gets
// every discard block's bit. Otherwise every bit is clear, and fn gets
// none of them: the kernel calls it for each with the bit clear, as many
// times as the superblock's discard_nr_blocks says, which damage can make
// 2^64.
func (md *metadata) loadDiscards(fn func(dblock uint64, discarded bool)) error {
	n := md.sb.discardNrBlocks
	if n == 0 || !md.cleanWhenOpened {
		return nil
	}
	root, err := md.discards.Flush(md.sb.discardRoot)
	if err != nil {
		return err
	}
	md.sb.discardRoot = root
	c, err := md.discards.NewCursor(root, n)
	if err != nil {
		return fmt.Errorf("discard bitset: %w", err)
	}
	for b := uint64(0); ; b++ {
		fn(b, c.Value())
		if b >= n-1 {
			return nil
		}
		if err := c.Next(); err != nil {
			return fmt.Errorf("discard bitset at block %d: %w", b+1, err)
		}
	}
}

// setDirtyBits is dm_cache_set_dirty_bits: version 1 rewrites the dirty
// flag of every mapping whose flag differs; version 2 replaces the dirty
// bitset with a new one built from dirty (one bit per cache block).
func (md *metadata) setDirtyBits(dirty []uint64) error {
	n := uint64(md.sb.cacheBlocks)
	test := func(i uint64) bool { return dirty[i/64]&(1<<(i%64)) != 0 }
	if !md.v2() {
		v := make([]byte, 8)
		for cb := uint64(0); cb < n; cb++ {
			if err := md.mappings.Get(md.sb.mappingRoot, cb, v); err != nil {
				return fmt.Errorf("mapping of cache block %d: %w", cb, err)
			}
			oblock, flags := unpackMapping(v)
			want := test(cb)
			if (flags&mDirty != 0) == want {
				continue
			}
			flags &^= mDirty
			if want {
				flags |= mDirty
			}
			if err := md.setMapping(cb, packMapping(oblock, flags)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := md.dirty.Del(md.sb.dirtyRoot); err != nil {
		return fmt.Errorf("dirty bitset: %w", err)
	}
	md.changed = true
	words := bitset.NrWords(n)
	root, err := md.arrayNew(md.dirty.Array(), words, func(i uint64) []byte {
		var w [8]byte
		if i < uint64(len(dirty)) {
			x := dirty[i]
			if rest := n - i*64; rest < 64 {
				x &= 1<<rest - 1
			}
			binary.LittleEndian.PutUint64(w[:], x)
		}
		return w[:]
	})
	md.sb.dirtyRoot = root
	return err
}

// arrayNew is dm_array_new: an array of size values, value i from fn,
// built block by block as dm_array_resize grows one (the same blocks, in
// the same order), then the values that are not zero set.
func (md *metadata) arrayNew(info *array.Info, size uint64, fn func(i uint64) []byte) (uint64, error) {
	root, err := info.Empty()
	if err != nil {
		return root, err
	}
	zero := make([]byte, info.Value.Size)
	if root, err = info.Resize(root, 0, size, zero); err != nil {
		return root, err
	}
	for i := uint64(0); i < size; i++ {
		v := fn(i)
		if block.AllZero(v) {
			continue
		}
		if root, err = info.Set(root, i, v); err != nil {
			return root, err
		}
	}
	return root, nil
}

// writeHints is write_hints: the policy's name and version recorded, the
// hint array deleted and built again from hint (one per cache block).
func (md *metadata) writeHints(p policyID, hint func(cblock uint64) uint32) error {
	md.sb.policyName, md.sb.policyVersion = p.name, p.version
	md.sb.policyHintSize = hintSize
	if md.sb.hintRoot != 0 {
		if err := md.hints.Del(md.sb.hintRoot); err != nil {
			return fmt.Errorf("hint array: %w", err)
		}
	}
	root, err := md.arrayNew(md.hints, uint64(md.sb.cacheBlocks), func(i uint64) []byte {
		var v [4]byte
		binary.LittleEndian.PutUint32(v[:], hint(i))
		return v[:]
	})
	md.sb.hintRoot = root
	return err
}

// usage is the used and total metadata blocks (status).
func (md *metadata) usage() (used, total uint64, err error) {
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

package metadata

import (
	"fmt"
	"sort"
)

// cachedBlock is one metadata block held in memory.
type cachedBlock struct {
	data    []byte
	salt    uint32 // checksum salt used when the block is written back
	dirty   bool
	checked bool // structure validated since it was read (nodes built here are valid)
}

// blockCache reads, caches and writes back metadata blocks. Dirty blocks other than
// the superblock may be written before commit (they are never part of the committed
// tree); the superblock is written last by flush. Not safe for concurrent use: the
// owning Pool's mutex serialises all calls.
type blockCache struct {
	dev       BlockDevice
	nrBlocks  uint64 // size of the device in blocks
	blocks    map[uint64]*cachedBlock
	maxBlocks int // soft limit on cached blocks, enforced by trim
	readOnly  bool
}

func newBlockCache(dev BlockDevice, nrBlocks uint64, maxBlocks int) *blockCache {
	if maxBlocks < 64 {
		maxBlocks = 64
	}
	return &blockCache{dev: dev, nrBlocks: nrBlocks, blocks: make(map[uint64]*cachedBlock), maxBlocks: maxBlocks}
}

// read returns block nr, verifying its checksum (with salt) and blocknr when it comes
// from the device. what names the expected block kind for errors.
func (c *blockCache) read(nr uint64, salt uint32, what string) (*cachedBlock, error) {
	if b, ok := c.blocks[nr]; ok {
		return b, nil
	}
	if nr >= c.nrBlocks {
		return nil, &BlockError{Block: nr, What: what, Msg: fmt.Sprintf("beyond the end of the metadata device (%d blocks)", c.nrBlocks)}
	}
	data := make([]byte, BlockSize)
	if _, err := c.dev.ReadAt(data, int64(nr)*BlockSize); err != nil {
		return nil, &BlockError{Block: nr, What: what, Msg: "read: " + err.Error()}
	}
	if err := verifyBlock(data, nr, salt, what); err != nil {
		return nil, err
	}
	b := &cachedBlock{data: data, salt: salt}
	c.blocks[nr] = b
	return b, nil
}

// zero returns a new all-zero dirty block at nr (its old content is not read).
func (c *blockCache) zero(nr uint64, salt uint32) *cachedBlock {
	b, ok := c.blocks[nr]
	if !ok {
		b = &cachedBlock{data: make([]byte, BlockSize)}
		c.blocks[nr] = b
	} else {
		clear(b.data)
	}
	b.salt, b.dirty, b.checked = salt, true, true
	return b
}

// forget drops a block from the cache without writing it (used for freed blocks).
func (c *blockCache) forget(nr uint64) { delete(c.blocks, nr) }

// writeBlock seals and writes one block.
func (c *blockCache) writeBlock(nr uint64, b *cachedBlock) error {
	if c.readOnly {
		return ErrReadOnly
	}
	sealBlock(b.data, nr, b.salt)
	if _, err := c.dev.WriteAt(b.data, int64(nr)*BlockSize); err != nil {
		return fmt.Errorf("write metadata block %d: %w", nr, err)
	}
	b.dirty = false
	return nil
}

// trim shrinks the cache to half its limit when it is over the limit, writing dirty
// non-superblock blocks out early. Callers must not hold *cachedBlock pointers across it.
func (c *blockCache) trim() error {
	if len(c.blocks) <= c.maxBlocks {
		return nil
	}
	for nr, b := range c.blocks {
		if len(c.blocks) <= c.maxBlocks/2 {
			break
		}
		if nr == superblockLocation {
			continue
		}
		if b.dirty {
			if err := c.writeBlock(nr, b); err != nil {
				return err
			}
		}
		delete(c.blocks, nr)
	}
	return nil
}

// flush writes every dirty block except the superblock in block order, syncs, then
// writes the superblock (if dirty) and syncs again: the commit protocol.
func (c *blockCache) flush() error {
	var nrs []uint64
	for nr, b := range c.blocks {
		if b.dirty && nr != superblockLocation {
			nrs = append(nrs, nr)
		}
	}
	sort.Slice(nrs, func(i, j int) bool { return nrs[i] < nrs[j] })
	for _, nr := range nrs {
		if err := c.writeBlock(nr, c.blocks[nr]); err != nil {
			return err
		}
	}
	if err := c.dev.Sync(); err != nil {
		return fmt.Errorf("sync metadata: %w", err)
	}
	sb, ok := c.blocks[superblockLocation]
	if !ok || !sb.dirty {
		return nil
	}
	if err := c.writeBlock(superblockLocation, sb); err != nil {
		return err
	}
	if err := c.dev.Sync(); err != nil {
		return fmt.Errorf("sync metadata superblock: %w", err)
	}
	return nil
}

package targets

import (
	"fmt"
	"syscall"

	"github.com/gdmsetup/gdmsetup/pdata/block"
)

// ErrUnformattedMetadata is the refusal of a metadata device whose
// superblock is all zeros where the target may not format it (the
// kernel's -EPERM).
var ErrUnformattedMetadata = fmt.Errorf("metadata device is not formatted: %w", syscall.EPERM)

// OpenMetadataBlocks is the start of metadata_open for a target keeping
// persistent-data metadata on dev (cache, era): a block manager of
// cacheBlocks blocks over it, and the bytes of its superblock (block 0).
// noManager runs when the manager cannot be made (the target logs its
// line); a device without a whole block is EIO.
func OpenMetadataBlocks(dev Dev, cacheBlocks int, noManager func()) (*block.Manager, []byte, error) {
	bm, err := block.NewManager(BlockDev{Dev: dev}, cacheBlocks, false)
	if err != nil {
		noManager()
		return nil, nil, fmt.Errorf("metadata device %s: %w", dev.Name(), err)
	}
	if bm.NrBlocks() < 1 {
		return nil, nil, fmt.Errorf("metadata device %s holds no whole 4096-byte block: %w", dev.Name(), syscall.EIO)
	}
	raw := make([]byte, block.BlockSize)
	if _, err := dev.ReadAt(raw, 0); err != nil {
		return nil, nil, fmt.Errorf("reading the superblock of %s: %w", dev.Name(), err)
	}
	return bm, raw, nil
}

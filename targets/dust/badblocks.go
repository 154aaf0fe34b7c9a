package dust

import (
	"fmt"
	"slices"
	"strings"
	"syscall"
)

// The bad block list: dust_add_block, dust_remove_block, dust_query_block,
// dust_clear_badblocks and dust_list_badblocks, with their log lines and
// replies. Each method takes mu.

// logUnlessQuiet writes a kernel log line of the list's unless quiet mode
// is on. The caller holds mu.
func (d *Dust) logUnlessQuiet(format string, args ...any) {
	if !d.quiet {
		d.logf("dust: "+format, args...)
	}
}

// addBlock lists block with writeFails write failures to come; a block
// already listed is refused (EINVAL).
func (d *Dust) addBlock(block uint64, writeFails uint8) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.bad[block]; ok {
		d.logUnlessQuiet("dust_add_block: block %d already in badblocklist", block)
		return fmt.Errorf("dust: block %d is already bad: %w", block, syscall.EINVAL)
	}
	d.bad[block] = writeFails
	d.logUnlessQuiet("dust_add_block: badblock added at block %d with write fail count %d", block, writeFails)
	return nil
}

// removeBlock takes block off the list; a block not listed is refused
// (EINVAL).
func (d *Dust) removeBlock(block uint64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.bad[block]; !ok {
		d.logUnlessQuiet("dust_remove_block: block %d not found in badblocklist", block)
		return fmt.Errorf("dust: block %d is not bad: %w", block, syscall.EINVAL)
	}
	delete(d.bad, block)
	d.logUnlessQuiet("dust_remove_block: badblock removed at block %d", block)
	return nil
}

// queryBlock is the reply to queryblock.
func (d *Dust) queryBlock(block uint64) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.bad[block]; ok {
		return fmt.Sprintf("dust_query_block: block %d found in badblocklist", block)
	}
	return fmt.Sprintf("dust_query_block: block %d not found in badblocklist", block)
}

// countBlocks is the reply to countbadblocks.
func (d *Dust) countBlocks() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return fmt.Sprintf("countbadblocks: %d badblock(s) found", len(d.bad))
}

// clearBlocks empties the list; the reply says whether it held any.
func (d *Dust) clearBlocks() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.bad) == 0 {
		return "dust_clear_badblocks: no badblocks found"
	}
	clear(d.bad)
	return "dust_clear_badblocks: badblocks cleared"
}

// listBlocks is the reply to listbadblocks: each bad block in increasing
// order on a line of its own.
func (d *Dust) listBlocks() string {
	d.mu.Lock()
	blocks := make([]uint64, 0, len(d.bad))
	for b := range d.bad {
		blocks = append(blocks, b)
	}
	d.mu.Unlock()
	if len(blocks) == 0 {
		return "No blocks in badblocklist"
	}
	slices.Sort(blocks)
	var b strings.Builder
	for _, blk := range blocks {
		fmt.Fprintf(&b, "%d\n", blk)
	}
	return b.String()
}

// readFails is dust_map_read for a bio at devSector of the device: it is
// killed when failures are enabled and its first sector's block is bad.
func (d *Dust) readFails(devSector uint64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.enabled {
		return false
	}
	_, bad := d.bad[devSector>>d.blockShift]
	return bad
}

// writeFails is dust_map_write for a bio at devSector (writes, discards,
// flushes): when failures are enabled and its first sector's block is bad,
// the bio is killed while the block's write failure count lasts (one
// less each time); once it is 0 the bio goes down and the block is no
// longer bad.
func (d *Dust) writeFails(devSector uint64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.enabled {
		return false
	}
	block := devSector >> d.blockShift
	n, bad := d.bad[block]
	switch {
	case !bad:
		return false
	case n > 0:
		d.bad[block] = n - 1
		return true
	}
	delete(d.bad, block)
	// the kernel divides the block number by the block size in sectors
	// once more for this line
	d.logUnlessQuiet("block %d removed from badblocklist by write", block/d.blockSectors())
	return false
}

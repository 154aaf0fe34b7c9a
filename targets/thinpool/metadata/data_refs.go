package metadata

import (
	"fmt"

	"github.com/gdmsetup/gdmsetup/pdata/spacemap"
)

// DataBlockShared is dm_pool_block_is_shared: whether data block b is
// counted more than once in the data space map.
func (p *Pool) DataBlockShared(b uint64) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, err := p.dsm.Count(b)
	if err != nil {
		return false, fmt.Errorf("data block %d: %w", b, err)
	}
	return c > 1, nil
}

// IncDataRange is dm_pool_inc_data_range: data blocks [begin, end) are
// counted once more (a discard holds the blocks it unmapped until the data
// device's discard of them completes).
func (p *Pool) IncDataRange(begin, end uint64) error {
	return p.dataRange(begin, end, "inc", (*spacemap.Disk).Inc)
}

// DecDataRange is dm_pool_dec_data_range, the release of IncDataRange.
func (p *Pool) DecDataRange(begin, end uint64) error {
	return p.dataRange(begin, end, "dec", (*spacemap.Disk).Dec)
}

// dataRange applies op to each data block of [begin, end) in order, as the
// kernel's range operations on the data space map do.
func (p *Pool) dataRange(begin, end uint64, what string, op func(*spacemap.Disk, uint64) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.begin(); err != nil {
		return err
	}
	for b := begin; b < end; b++ {
		if err := op(p.dsm, b); err != nil {
			return p.fail(fmt.Errorf("%s data blocks [%d, %d): block %d: %w", what, begin, end, b, err))
		}
	}
	return nil
}

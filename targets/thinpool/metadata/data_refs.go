package metadata

import "fmt"

// DataBlockInUse reports whether any mapping (of any device or of the held
// metadata snapshot) still references data block b: its count in the data
// space map is not zero. Discards pass a block down only when it is not.
func (p *Pool) DataBlockInUse(b uint64) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, err := p.dsm.Count(b)
	if err != nil {
		return false, fmt.Errorf("data block %d: %w", b, err)
	}
	return c > 0, nil
}

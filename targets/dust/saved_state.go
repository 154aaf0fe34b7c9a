package dust

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// savedPrefix starts a saved state: its format's name and version.
const savedPrefix = "dust-v1"

// SaveState is targets.StateSaver: what the kernel keeps in memory while
// the table exists (the bad block list, enabled, quiet), so that a later
// process serving the same live table sees it. Words after the prefix:
// "enabled" or "bypass", "quiet" or "verbose", then BLOCK:WRITE_FAILS for
// each bad block in increasing order.
func (d *Dust) SaveState() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	words := []string{savedPrefix, "bypass", "verbose"}
	if d.enabled {
		words[1] = "enabled"
	}
	if d.quiet {
		words[2] = "quiet"
	}
	blocks := make([]uint64, 0, len(d.bad))
	for b := range d.bad {
		blocks = append(blocks, b)
	}
	slices.Sort(blocks)
	for _, b := range blocks {
		words = append(words, fmt.Sprintf("%d:%d", b, d.bad[b]))
	}
	return strings.Join(words, " ")
}

// restore takes back what SaveState gave, after checking it is that.
func (d *Dust) restore(saved string) error {
	words := strings.Fields(saved)
	if len(words) < 3 || words[0] != savedPrefix {
		return fmt.Errorf("not a saved dust state (no %q and two modes)", savedPrefix)
	}
	switch words[1] {
	case "enabled", "bypass":
		d.enabled = words[1] == "enabled"
	default:
		return fmt.Errorf("saved dust state: read failure mode %q is neither enabled nor bypass", words[1])
	}
	switch words[2] {
	case "quiet", "verbose":
		d.quiet = words[2] == "quiet"
	default:
		return fmt.Errorf("saved dust state: log mode %q is neither quiet nor verbose", words[2])
	}
	for _, w := range words[3:] {
		blk, n, ok := strings.Cut(w, ":")
		b, err1 := strconv.ParseUint(blk, 10, 64)
		c, err2 := strconv.ParseUint(n, 10, 8)
		if !ok || err1 != nil || err2 != nil {
			return fmt.Errorf("saved dust state: bad block entry %q is not BLOCK:WRITE_FAILS (0-255)", w)
		}
		d.bad[b] = uint8(c)
	}
	return nil
}

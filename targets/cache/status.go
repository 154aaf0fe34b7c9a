package cache

import (
	"fmt"
	"strings"

	"github.com/gdmsetup/gdmsetup/pdata/block"
)

// Table is "<metadata dev> <cache dev> <origin dev>" and the constructor's
// words from the block size on, as typed.
func (c *Cache) Table() string {
	return strings.Join(append([]string{c.meta.Name(), c.cdev.Name(), c.origin.Name()}, c.ctrArgs...), " ")
}

// Status is cache_status's info line, after a commit unless the device is
// suspended: <metadata block size> <used>/<total metadata blocks> <block
// size> <used>/<total cache blocks> <read hits> <read misses> <write hits>
// <write misses> <demotions> <promotions> <dirty> <#features> <features>*
// 2 migration_threshold <n> <policy> <#policy args> <policy args>* rw|ro
// -|needs_check, each word followed by a space.
func (c *Cache) Status() string {
	c.wakerIfDue()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st.Mode == modeFail {
		return "Fail"
	}
	if !c.st.Suspended {
		// a failure has switched the metadata to read-only, which the line shows
		_ = c.commit(false)
	}
	used, total, err := c.md.usage()
	if err != nil {
		c.logf("%s: dm_cache_get_free_metadata_block_count returned %v", c.devName(), err)
		return "Error"
	}
	k := c.st.Counters
	var b strings.Builder
	fmt.Fprintf(&b, "%d %d/%d %d %d/%d %d %d %d %d %d %d %d ", block.SectorsPerBlock, used, total,
		c.blockSectors, c.pol.residency(), c.st.CacheSize,
		k.ReadHit, k.ReadMiss, k.WriteHit, k.WriteMiss, k.Demotion, k.Promotion, c.st.NrDirty)
	b.WriteString(c.features())
	fmt.Fprintf(&b, "2 migration_threshold %d %s %s", c.st.MigrationThreshold, c.pol.Kind, c.pol.emitConfig())
	if c.st.Mode == modeReadOnly {
		b.WriteString("ro ")
	} else {
		b.WriteString("rw ")
	}
	if c.md.sb.flags&flagNeedsCheck != 0 {
		b.WriteString("needs_check ")
	} else {
		b.WriteString("- ")
	}
	return b.String()
}

// features is emit_flags: "<count> [metadata2] <io mode> [no_discard_passdown] ".
func (c *Cache) features() string {
	n := 1
	if c.feat.metadataVersion == 2 {
		n++
	}
	if !c.feat.discardPassdown {
		n++
	}
	s := fmt.Sprintf("%d ", n)
	if c.feat.metadataVersion == 2 {
		s += "metadata2 "
	}
	s += [...]string{"writeback ", "writethrough ", "passthrough "}[c.feat.io]
	if !c.feat.discardPassdown {
		s += "no_discard_passdown "
	}
	return s
}

package integrity

import (
	"fmt"
	"strings"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Measure is dm_integrity_status's STATUSTYPE_IMA: the device, start,
// tag size and mode, the metadata device and block size when set, the
// superblock's and the line's flags as y/n, and the journal, interleave
// and buffer sizes in sectors as the device has them.
func (x *Integrity) Measure() string {
	x.mu.Lock()
	defer x.mu.Unlock()
	c, g := &x.cfg, &x.geo
	var b strings.Builder
	fmt.Fprintf(&b, "%s,dev_name=%s,start=%d,tag_size=%d,mode=%c", Type.MeasureHead(), x.dev.Name(), c.startSector, c.tagSize, c.mode)
	if c.metaDevPath != "" {
		fmt.Fprintf(&b, ",meta_device=%s", x.metaDev.Name())
	}
	if c.blockSectors != 1 {
		fmt.Fprintf(&b, ",block_size=%d", c.blockSectors*targets.SectorSize)
	}
	fmt.Fprintf(&b, ",recalculate=%c,allow_discards=%c,fix_padding=%c,fix_hmac=%c,legacy_recalculate=%c",
		targets.MeasureFlag(x.sb.has(flagRecalculating)), targets.MeasureFlag(c.discards),
		targets.MeasureFlag(x.sb.has(flagFixedPadding)), targets.MeasureFlag(x.sb.has(flagFixedHMAC)), targets.MeasureFlag(c.legacyRecalc))
	fmt.Fprintf(&b, ",journal_sectors=%d,interleave_sectors=%d,buffer_sectors=%d;",
		g.initialSectors-sbSectors, x.sb.interleaveSectors(), uint64(1)<<g.log2Buf)
	return b.String()
}

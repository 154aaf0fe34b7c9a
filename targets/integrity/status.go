package integrity

import (
	"fmt"
	"strings"
)

// Status is the STATUSTYPE_INFO line: mismatches, provided data sectors,
// and the recalculation's position ("-" when not recalculating).
func (x *Integrity) Status() string {
	x.mu.Lock()
	defer x.mu.Unlock()
	s := fmt.Sprintf("%d %d", x.mismatches.Load(), x.geo.provided)
	if x.sb.has(flagRecalculating) {
		return s + fmt.Sprintf(" %d", x.sb.recalcSector())
	}
	return s + " -"
}

// Table is the STATUSTYPE_TABLE line, options in the kernel's order and
// as it has them now (the journal's and interleave's real sizes).
func (x *Integrity) Table() string {
	x.mu.Lock()
	defer x.mu.Unlock()
	c, g := &x.cfg, &x.geo
	var opts []string
	add := func(format string, args ...any) { opts = append(opts, fmt.Sprintf(format, args...)) }
	if x.cfg.metaDevPath != "" {
		add("meta_device:%s", x.metaDev.Name())
	}
	if c.blockSectors != 1 {
		add("block_size:%d", c.blockSectors*512)
	}
	if x.sb.has(flagRecalculating) {
		add("recalculate")
	}
	if c.resetRecalc {
		add("reset_recalculate")
	}
	if c.discards {
		add("allow_discards")
	}
	add("journal_sectors:%d", g.initialSectors-sbSectors)
	add("interleave_sectors:%d", x.sb.interleaveSectors())
	add("buffer_sectors:%d", uint64(1)<<g.log2Buf)
	if c.mode == 'J' {
		entries := uint64(g.journalEntries)
		pct := ((entries-uint64(x.threshold()))*100 + entries/2) / entries
		add("journal_watermark:%d", pct)
		add("commit_time:%d", c.commitMs)
	}
	if c.mode == 'B' {
		add("sectors_per_bit:%d", g.blockSectors()<<x.log2BPB)
		add("bitmap_flush_interval:%d", c.bitmapFlushMs)
	}
	if x.sb.has(flagFixedPadding) {
		add("fix_padding")
	}
	if x.sb.has(flagFixedHMAC) {
		add("fix_hmac")
	}
	if c.legacyRecalc {
		add("legacy_recalculate")
	}
	for _, a := range []struct {
		name string
		spec *algSpec
	}{{"internal_hash", &c.internalHash}, {"journal_crypt", &c.journalCrypt}, {"journal_mac", &c.journalMAC}} {
		if a.spec.set {
			s := a.name + ":" + a.spec.name
			if a.spec.keyHex != "" || a.spec.key != nil {
				s += ":" + a.spec.keyHex
			}
			opts = append(opts, s)
		}
	}
	line := fmt.Sprintf("%s %d %d %c %d", x.dev.Name(), c.startSector, c.tagSize, c.mode, len(opts))
	if len(opts) > 0 {
		line += " " + strings.Join(opts, " ")
	}
	return line
}

// threshold is free_sectors_threshold (it exists without a journal too).
func (x *Integrity) threshold() uint32 {
	t := uint64(x.geo.journalEntries)*uint64(100-x.cfg.watermark) + 50
	return uint32(t / 100)
}

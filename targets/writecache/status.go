package writecache

import (
	"fmt"
	"strings"
)

// Status is writecache_status's info line: <error> <#blocks> <#free
// blocks> <#blocks under writeback>, then reads, read hits, writes, write
// hits on uncommitted blocks, on committed ones, writes around the cache,
// writes allocating a block, writes blocked on the free list, flushes,
// discards (block counts).
func (w *Writecache) Status() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	errFlag := 0
	if w.errno != 0 {
		errFlag = 1
	}
	s := w.stats
	return fmt.Sprintf("%d %d %d 0 %d %d %d %d %d %d %d %d %d %d", errFlag, w.nBlocks, w.idx.freeCount,
		s.Reads, s.ReadHits, s.Writes, s.WriteHitsUncommitted, s.WriteHitsCommitted,
		s.WritesAround, s.WritesAllocate, s.WritesBlockedOnFreelist, s.Flushes, s.Discards)
}

// Table is "s <origin> <cache> <block size> <#args> <args>", the
// options given in the kernel's order with the values typed (cleaner and
// flush_on_suspend set by message do not show).
func (w *Writecache) Table() string {
	c := &w.cfg
	var opts []string
	add := func(set bool, format string, args ...any) {
		if set {
			opts = append(opts, fmt.Sprintf(format, args...))
		}
	}
	add(c.startSet, "start_sector %d", c.startSector)
	add(c.highSet, "high_watermark %d", uint32(c.highPercent))
	add(c.lowSet, "low_watermark %d", uint32(c.lowPercent))
	add(c.jobsSet, "writeback_jobs %d", c.writebackJobs)
	add(c.blocksSet, "autocommit_blocks %d", c.autocommitBlocks)
	add(c.timeSet, "autocommit_time %d", c.autocommitMs)
	add(c.maxAgeSet, "max_age %d", c.maxAgeMs)
	add(c.cleanerSet, "cleaner")
	add(c.metadataOnly, "metadata_only")
	add(c.pauseSet, "pause_writeback %d", c.pauseMs)
	words := 0
	for _, o := range opts {
		words += strings.Count(o, " ") + 1
	}
	line := fmt.Sprintf("s %s %s %d %d", w.origin.Name(), w.cache.Name(), c.blockBytes, words)
	if len(opts) > 0 {
		line += " " + strings.Join(opts, " ")
	}
	return line
}

package integrity

import "syscall"

// The journal's writer (integrity_writer and do_journal_write): the
// committed sections' entries copied to their data sectors and their
// tags, then the sections freed for new writes. It runs in a goroutine
// of its own, one at a time, started when a commit leaves the journal
// below its watermark, as the kernel queues its writer work. Each run of
// entries locks its sectors (a read of them waits, then reads the
// device) and is written with mu released, so that I/O on other sectors
// and new writes into the free sections go on meanwhile. The sections
// are freed only once their copies are flushed: until then a crash
// replays them.

// kickWriter is queue_work(writer_wq): when sections are committed and
// no writer runs, a goroutine starts writing them into place; a writer
// that runs goes on with them when done with its own. The caller holds
// mu.
func (j *journal) kickWriter() {
	if j.writing || j.nCommitted == 0 {
		return
	}
	j.writing = true
	go j.runWriter()
}

// runWriter is the writer's goroutine: the committed sections written
// into place and freed, as long as there are some. When the writes made
// meanwhile leave the journal below its watermark, it commits them and
// goes on with them.
func (j *journal) runWriter() {
	x := j.x
	x.mu.Lock()
	defer x.mu.Unlock()
	for j.nCommitted > 0 {
		start, n := j.committedSection, j.nCommitted
		j.writeBack(start, n, false)
		j.committedSection = j.wrap(j.committedSection + n)
		j.nCommitted -= n
		j.freeSectors += n * j.g.sectionEntries
		j.progress.Broadcast()
		if j.freeSectors <= j.threshold {
			j.commit()
		}
	}
	j.writing = false
	j.progress.Broadcast()
}

// drainWriter is queue_work and flush_workqueue(writer_wq): on return
// every section committed before the call is in place and free. The
// caller holds mu (released while it waits).
func (j *journal) drainWriter() {
	j.kickWriter()
	for j.writing {
		j.progress.Wait()
	}
}

// waitIdle waits for a running writer and a running commit to end. The
// caller holds mu (released while it waits).
func (j *journal) waitIdle() {
	for j.writing || j.committing {
		j.progress.Wait()
	}
}

// writeBack is do_journal_write: the entries of n sections from start
// written to their places, runs of consecutive sectors of one area at a
// time, data then tags, then dm_integrity_flush_buffers with the data
// device (one flush when it holds the tags too). Each run's sectors are
// locked first (rangeWriteBack); entries a newer committed entry
// overwrites are then skipped at the run's ends, and the run's entries
// leave the journal tree before their I/O. From a replay (resume: no
// other I/O runs) the section MACs and the tags are checked, and sectors
// outside the device dropped. The caller holds mu; it is released for
// the I/O.
func (j *journal) writeBack(start, n uint32, fromReplay bool) {
	x, g := j.x, j.g
	bs := g.blockSectors()
	i := start
	for k := uint32(0); k < n; k, i = k+1, j.wrap(i+1) {
		if fromReplay {
			j.sectionMAC(i, false)
		}
		for e := uint32(0); e < g.sectionEntries; e++ {
			eo := j.entryOff(i, e)
			if j.entryHi(eo) == entryUnused {
				continue
			}
			sec := j.entrySector(eo)
			if fromReplay {
				if sec&(bs-1) != 0 {
					x.ioError("invalid sector in journal", syscall.EIO)
					sec &^= bs - 1
				}
				if sec >= g.provided {
					j.setEntryHi(eo, entryUnused)
					continue
				}
			}
			a := g.areaOffset(sec)
			j.restoreLastBytes(i, e)
			end := e + 1
			for ; end < g.sectionEntries; end++ {
				eo2 := j.entryOff(i, end)
				if j.entryHi(eo2) == entryUnused {
					break
				}
				sec2 := j.entrySector(eo2)
				if sec2 >= g.provided {
					break
				}
				a2 := g.areaOffset(sec2)
				if a2.n != a.n || a2.offset != a.offset+uint64(end-e)<<g.log2Block {
					break
				}
				j.restoreLastBytes(i, end)
			}
			next := end - 1
			r := x.ranges.lock(sec, uint64(end-e)*bs, rangeWriteBack)
			first := e
			if !fromReplay {
				base := i * g.sectionEntries
				for first < end && j.newerCommitted(j.entrySector(j.entryOff(i, first)), base+first) {
					j.setEntryHi(j.entryOff(i, first), entryUnused)
					j.removeNode(sec, base+first)
					first++
					sec += bs
					a.offset += bs
				}
				for first < end && j.newerCommitted(j.entrySector(j.entryOff(i, end-1)), base+end-1) {
					s2 := j.entrySector(j.entryOff(i, end-1))
					j.setEntryHi(j.entryOff(i, end-1), entryUnused)
					j.removeNode(s2, base+end-1)
					end--
				}
				for l := first; l < end; l++ {
					j.removeNode(sec+uint64(l-first)*bs, base+l)
				}
			}
			if first < end {
				j.placeRun(i, first, end, sec, a, fromReplay)
			}
			x.ranges.unlock(r)
			e = next
		}
	}
	x.mu.Unlock()
	what, errno := x.flushDevs(true)
	x.mu.Lock()
	if errno != 0 {
		x.ioError(what, errno)
	}
}

// placeRun writes entries [first, end) of a section, sectors from sec on
// in area a, into place: their data, then their tags (the kernel's tags
// wait in dm-bufio's dirty buffers, written after the copies are sent),
// with mu released.
// From a replay their tags are checked against their data first: a
// mismatch fails the target, and a failed target writes nothing.
func (j *journal) placeRun(section, first, end uint32, sec uint64, a area, fromReplay bool) {
	x, g := j.x, j.g
	bs := g.blockSectors()
	tags := make([]byte, 0, int(end-first)*int(g.tagSize))
	for l := first; l < end; l++ {
		eo := j.entryOff(section, l)
		tag := j.buf[j.tagOff(eo):][:g.tagSize]
		if fromReplay && x.hash != nil {
			do := j.dataOff(section, l)
			want := x.checksum(nil, sec+uint64(l-first)*bs, j.buf[do:do+int(bs)*512])
			if string(want) != string(tag) {
				x.ioError("tag mismatch when replaying journal", syscall.EILSEQ)
			}
		}
		j.setEntryHi(eo, entryUnused)
		tags = append(tags, tag...)
	}
	if x.failed != 0 {
		return
	}
	do := j.dataOff(section, first)
	data := j.buf[do : do+int(end-first)*int(bs)*512]
	x.mu.Unlock()
	_, dataErr := x.dev.WriteAt(data, int64(g.dataSector(a))*512)
	tagErr := x.writeTags(a, tags)
	x.mu.Lock()
	if tagErr != nil {
		x.ioError("reading tags", errnoOf(tagErr))
	}
	if dataErr != nil {
		x.ioError("copying from journal", syscall.EIO)
	}
}

// restoreLastBytes is restore_last_bytes: entry eo's data sectors get
// their own last 8 bytes back in place of the commit ids.
func (j *journal) restoreLastBytes(section, e uint32) {
	eo, do := j.entryOff(section, e), j.dataOff(section, e)
	for s := 0; s < int(j.g.blockSectors()); s++ {
		copy(j.buf[do+s*512+journalSectorData:do+(s+1)*512], j.buf[eo+8+8*s:eo+16+8*s])
	}
}

package raid

import (
	"encoding/binary"
	"fmt"
)

// journalReplay is off only in tests that show the replay is what
// closes the write hole.
var journalReplay = true

// recStripe is a stripe head rebuilt from the log (r5l_recovery's
// stripe in the cache): the pages to write to each member and whether
// its parity was logged (a data-parity stripe; without: data-only, as
// writeback leaves them).
type recStripe struct {
	sector uint64 // the stripe head's sector on the members
	rw     *row
	pages  map[int][]byte // member -> its page
	parity bool
}

// journalScan is r5l_recovery_ctx: where the scan is and the stripes
// loaded so far, in the order they were first met.
type journalScan struct {
	pos, seq uint64
	order    []*recStripe
	bySector map[uint64]*recStripe
}

// loadJournal is r5l_load_log with dm-raid's tail of 0 (journal.go): a
// device whose sector 0 holds no valid meta block gets a new log; one
// that does has its chain recovered (r5l_recovery_log): the data and
// parity of complete stripes written to the members, stripes whose data
// only was logged written out with their parity; then, the members
// flushed, a new chain starts at 0. The chain also goes on past the empty
// meta block md's own recovery writes where the chain it read ended (its
// seq 10000 ahead): md, always reading from 0 under dm-raid, stops
// there and never replays what it logged after a recovery; gdmsetup
// does.
func (r *Raid) loadJournal() error {
	j := r.jr
	j.mu.Lock()
	defer j.mu.Unlock()
	j.loaded = true
	first, ok := j.readMeta(0, 0, false)
	if !ok {
		return j.restart(randomSeq())
	}
	sc := &journalScan{seq: binary.LittleEndian.Uint64(first[16:]), bySector: make(map[uint64]*recStripe)}
	for {
		mb, ok := j.readMeta(sc.pos, sc.seq, true)
		if !ok {
			if mb, ok = j.readMeta(sc.pos, sc.seq+seqSkip, true); !ok {
				break
			}
			sc.seq += seqSkip
		}
		blocks, err := r.analyseMeta(sc, mb)
		if err != nil {
			return err
		}
		sc.seq++
		sc.pos = j.ringAdd(sc.pos, blocks)
	}
	if journalReplay {
		for _, st := range sc.order {
			if err := r.replayStripe(st); err != nil {
				return fmt.Errorf("journal replay: %w", err)
			}
		}
	}
	if err := r.flushMembers(); err != nil {
		return err
	}
	return j.restart(sc.seq + seqSkip)
}

func (j *journal) ringAdd(pos, sectors uint64) uint64 { return (pos + sectors) % j.sizeSectors }

// readRing reads n bytes of the log from the sector, wrapping at the
// end of the device as md's log does.
func (j *journal) readRing(sector uint64, n int) ([]byte, error) {
	b := make([]byte, n)
	for off := 0; off < n; {
		at := j.ringAdd(sector, uint64(off)/sectorBytes)
		chunk := min(n-off, int(j.sizeSectors-at)*sectorBytes)
		if _, err := j.dev.ReadAt(b[off:off+chunk], int64(at)*sectorBytes); err != nil {
			return nil, fmt.Errorf("journal %s at sector %d: %w", j.dev.Name(), at, err)
		}
		off += chunk
	}
	return b, nil
}

// readMeta is r5l_recovery_read_meta_block: the meta block at pos, valid
// when its magic, version, position (and seq, when checkSeq) hold, its
// checksum matches and its meta_size fits.
func (j *journal) readMeta(pos, seq uint64, checkSeq bool) ([]byte, bool) {
	if pos+logBlockSectors > j.sizeSectors {
		return nil, false
	}
	b, err := j.readRing(pos, logBlockBytes)
	if err != nil {
		return nil, false
	}
	le := binary.LittleEndian
	stored := le.Uint32(b[4:])
	le.PutUint32(b[4:], 0)
	switch {
	case le.Uint32(b[0:]) != r5logMagic, b[8] != r5logVersion, le.Uint64(b[24:]) != pos:
		return nil, false
	case checkSeq && le.Uint64(b[16:]) != seq:
		return nil, false
	case crc32cLE(uuidChecksum, b) != stored, le.Uint32(b[12:]) > logBlockBytes:
		return nil, false
	}
	return b, true
}

// payload is one parsed payload of a meta block.
type payload struct {
	typ      uint16
	location uint64   // data: array sector; parity: the stripe's member sector
	sums     []uint32 // data/parity: one per page
	flushed  []uint64 // flush: the stripes' member sectors
}

// parsePayloads reads a meta block's payloads up to its meta_size; ok is
// false for an unknown type or a payload past meta_size (md drops the
// meta block's data then).
func parsePayloads(mb []byte) (pls []payload, ok bool) {
	le := binary.LittleEndian
	size := int(le.Uint32(mb[12:]))
	for off := metaHeaderBytes; off < size; {
		if off+flushHdrBytes > size {
			return nil, false
		}
		typ, n := le.Uint16(mb[off:]), int(le.Uint32(mb[off+4:]))
		switch typ {
		case payloadFlush:
			if off+flushHdrBytes+n > size {
				return nil, false
			}
			pl := payload{typ: typ}
			for i := 0; i+8 <= n; i += 8 {
				pl.flushed = append(pl.flushed, le.Uint64(mb[off+flushHdrBytes+i:]))
			}
			pls = append(pls, pl)
			off += flushHdrBytes + n
		case payloadData, payloadParity:
			pages := n / logBlockSectors
			end := off + payloadHdrBytes + 4*pages
			if end > size || pages == 0 {
				return nil, false
			}
			pl := payload{typ: typ, location: le.Uint64(mb[off+8:])}
			for i := range pages {
				pl.sums = append(pl.sums, le.Uint32(mb[off+payloadHdrBytes+4*i:]))
			}
			pls = append(pls, pl)
			off = end
		default:
			return nil, false
		}
	}
	return pls, true
}

// analyseMeta is r5c_recovery_analyze_meta_block: the meta block's pages
// are read and checked (one bad checksum drops the block's data, and the
// scan goes on at the next block, as md's does), then each payload loads
// its stripe: a data page after the stripe's parity replays what the
// stripe held first; a flush payload forgets its stripes. It returns the
// sectors the meta block and its pages take (only the meta block's when
// dropped, as md counts it).
func (r *Raid) analyseMeta(sc *journalScan, mb []byte) (uint64, error) {
	j := r.jr
	pls, ok := parsePayloads(mb)
	if !ok {
		return logBlockSectors, nil
	}
	nPages := 0
	for _, pl := range pls {
		nPages += len(pl.sums)
	}
	body, err := j.readRing(j.ringAdd(sc.pos, logBlockSectors), nPages*logBlockBytes)
	if err != nil {
		return 0, err
	}
	pageAt := func(i int) []byte { return body[i*logBlockBytes : (i+1)*logBlockBytes] }
	for i, at := 0, 0; i < len(pls); i++ {
		if !r.placeable(&pls[i]) {
			return logBlockSectors, nil
		}
		for _, sum := range pls[i].sums {
			if crc32cLE(uuidChecksum, pageAt(at)) != sum {
				return logBlockSectors, nil
			}
			at++
		}
	}
	at := 0
	for _, pl := range pls {
		switch pl.typ {
		case payloadFlush:
			for _, s := range pl.flushed {
				sc.forget(s)
			}
			continue
		case payloadData:
			rw, member, sector := r.dataPlace(pl.location)
			st := sc.stripe(sector, rw)
			if st.parity && journalReplay {
				if err := r.replayStripe(st); err != nil {
					return 0, fmt.Errorf("journal replay: %w", err)
				}
				sc.forget(sector)
				st = sc.stripe(sector, rw)
			}
			st.pages[member] = pageAt(at)
		case payloadParity:
			rw := r.rowOf(pl.location / r.chunkSectors * uint64(r.dataStripes))
			st := sc.stripe(pl.location, rw)
			st.pages[rw.pd] = pageAt(at)
			if rw.qd >= 0 {
				st.pages[rw.qd] = pageAt(at + 1)
			}
			st.parity = true
		}
		at += len(pl.sums)
	}
	return logBlockSectors * uint64(1+nPages), nil
}

// placeable reports a payload whose pages fall inside the array: data
// at an array sector, parity at a stripe head's member sector (a page's
// start), one page for data, one per parity member for parity.
func (r *Raid) placeable(pl *payload) bool {
	switch pl.typ {
	case payloadData:
		return pl.location%logBlockSectors == 0 && pl.location < r.arraySectors && len(pl.sums) == 1
	case payloadParity:
		return pl.location%logBlockSectors == 0 && pl.location < r.devSectors && len(pl.sums) == r.rt.parityDevs
	}
	return true
}

// dataPlace is raid5_compute_sector for a logged data page: its row, its
// member and the stripe head's sector on the members.
func (r *Raid) dataPlace(arraySector uint64) (*row, int, uint64) {
	rw, k, off := r.rowPiece(arraySector)
	return rw, rw.data[k], rw.stripe*r.chunkSectors + off
}

// stripe is the stripe loaded at the sector, a new one if none is.
func (sc *journalScan) stripe(sector uint64, rw *row) *recStripe {
	if st := sc.bySector[sector]; st != nil {
		return st
	}
	st := &recStripe{sector: sector, rw: rw, pages: make(map[int][]byte)}
	sc.bySector[sector] = st
	sc.order = append(sc.order, st)
	return st
}

// forget drops the stripe loaded at the sector.
func (sc *journalScan) forget(sector uint64) {
	st := sc.bySector[sector]
	if st == nil {
		return
	}
	delete(sc.bySector, sector)
	for i, o := range sc.order {
		if o == st {
			sc.order = append(sc.order[:i], sc.order[i+1:]...)
			break
		}
	}
}

// replayStripe writes a loaded stripe to the members: a data-parity
// stripe's pages as logged (r5l_recovery_replay_one_stripe; parity alone
// was written before the crash and is skipped), a data-only stripe's
// data with the parity computed over the members' other data (what md's
// write-out of the stripe does). Missing and failed members are skipped.
func (r *Raid) replayStripe(st *recStripe) error {
	rw := st.rw
	data := 0
	for m := range st.pages {
		if m != rw.pd && m != rw.qd {
			data++
		}
	}
	if data == 0 {
		return nil
	}
	off := st.sector % r.chunkSectors
	pages := st.pages
	if !st.parity {
		bufs, err := r.readRow(rw, off, logBlockSectors)
		if err != nil {
			return fmt.Errorf("stripe at sector %d: %w", st.sector, err)
		}
		for m, pg := range st.pages {
			copy(bufs[m], pg)
		}
		r.computeParity(rw, bufs)
		pages = map[int][]byte{rw.pd: bufs[rw.pd]}
		if rw.qd >= 0 {
			pages[rw.qd] = bufs[rw.qd]
		}
		for m, pg := range st.pages {
			pages[m] = pg
		}
	}
	for m, pg := range pages {
		if !r.usable(m) {
			continue
		}
		if _, err := r.members[m].data.WriteAt(pg, int64(st.sector)*sectorBytes); err != nil {
			r.fail(m)
		}
	}
	return nil
}

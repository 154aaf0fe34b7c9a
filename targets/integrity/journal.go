package integrity

import (
	"encoding/binary"
	"sync"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// nCommitIDs is N_COMMIT_IDS: the commit sequences a journal sector's id
// cycles through, one step each time the journal wraps.
const nCommitIDs = 4

// Journal entry sector values that are not sectors (sector_hi).
const (
	entryUnused     = 0xffffffff // journal_entry_set_unused
	entryInProgress = 0xfffffffe // journal_entry_set_inprogress
)

// journal is the in-core journal (ic->journal) and its positions. The
// journal is journalSections sections; a section is 8 sectors of entries
// (entry n lies in sector n%8 at (n/8)*entryBytes: a sector, its tag, the
// last 8 bytes of each of its data sectors) followed by the entries' data
// blocks. The last 8 bytes of every journal sector hold its commit id,
// which says in which pass over the journal the sector was committed.
// Sections run from committedSection (committed, not yet written into
// place) through uncommittedSection (filled, not committed) to
// freeSection, the one being filled. Guarded by Integrity.mu, but for the
// bytes of the sections a commit is writing or the writer is copying into
// place, which they read with mu released: nothing writes those until the
// writer frees them.
type journal struct {
	x   *Integrity
	g   *geometry
	buf []byte

	commitSeq          uint8
	committedSection   uint32
	nCommitted         uint32
	uncommittedSection uint32
	nUncommitted       uint32
	freeSection        uint32
	freeSectionEntry   uint32
	freeSectors        uint32 // free entries
	threshold          uint32 // free_sectors_threshold
	wroteToJournal     bool

	// writing is set while the writer's goroutine runs (runWriter: one at
	// a time, as the kernel's writer_wq), committing while a commit writes
	// its sections with mu released (one at a time, as commit_wq).
	// progress is signalled (its lock is Integrity.mu) when the writer
	// frees sections or ends, and when a commit ends.
	writing, committing bool
	progress            *sync.Cond

	ids   [nCommitIDs]uint64 // the commit ids (encrypted by a stream journal_crypt)
	crypt *journalCrypt      // nil without journal_crypt

	// nodes is the journal tree: for each sector the journal positions
	// (section*sectionEntries + entry) holding it, oldest first.
	nodes map[uint64][]uint32
}

// commitIDs are the four commit ids create_journal starts from.
var commitIDs = [nCommitIDs]uint64{0x1111111111111111, 0x2222222222222222, 0x3333333333333333, 0x4444444444444444}

func newJournal(x *Integrity) *journal {
	g := &x.geo
	j := &journal{x: x, g: g, ids: commitIDs, nodes: map[uint64][]uint32{}, progress: sync.NewCond(&x.mu)}
	// whole pages, as the kernel allocates them: mode B's bitmap may use them all
	j.buf = make([]byte, roundUp64(uint64(g.journalSections)*uint64(g.sectionSectors)*512, 4096))
	j.threshold = x.threshold()
	return j
}

func nextSeq(s uint8) uint8 { return (s + 1) % nCommitIDs }
func prevSeq(s uint8) uint8 { return (s + nCommitIDs - 1) % nCommitIDs }

// wrap is wraparound_section.
func (j *journal) wrap(s uint32) uint32 {
	if s >= j.g.journalSections {
		s -= j.g.journalSections
	}
	return s
}

// sectorOff is the byte offset in buf of sector s of a section.
func (j *journal) sectorOff(section, s uint32) int {
	return (int(section)*int(j.g.sectionSectors) + int(s)) * 512
}

// entryOff is the byte offset in buf of entry n of a section.
func (j *journal) entryOff(section, n uint32) int {
	return j.sectorOff(section, n%journalBlockSectors) + int(n/journalBlockSectors)*int(j.g.entryBytes)
}

// dataOff is the byte offset in buf of entry n's data block.
func (j *journal) dataOff(section, n uint32) int {
	return j.sectorOff(section, journalBlockSectors+n<<j.g.log2Block)
}

func (j *journal) entrySector(off int) uint64 { return binary.LittleEndian.Uint64(j.buf[off:]) }
func (j *journal) entryHi(off int) uint32     { return binary.LittleEndian.Uint32(j.buf[off+4:]) }
func (j *journal) setEntryHi(off int, v uint32) {
	binary.LittleEndian.PutUint32(j.buf[off+4:], v)
}
func (j *journal) tagOff(off int) int { return off + 8 + 8*int(j.g.blockSectors()) }

// commitID is dm_integrity_commit_id: the id of sector s of a section in
// pass seq, xored with the position so a misplaced sector is seen.
func (j *journal) commitID(section, s uint32, seq uint8) uint64 {
	return j.ids[seq] ^ (uint64(section)<<32 ^ uint64(s))
}

func (j *journal) setCommitID(section, s uint32, seq uint8) {
	binary.LittleEndian.PutUint64(j.buf[j.sectorOff(section, s)+journalSectorData:], j.commitID(section, s, seq))
}

func (j *journal) commitIDAt(section, s uint32) uint64 {
	return binary.LittleEndian.Uint64(j.buf[j.sectorOff(section, s)+journalSectorData:])
}

// initSections is init_journal: n sections from start emptied, stamped
// with pass seq, and written.
func (j *journal) initSections(start, n uint32, seq uint8) {
	if n == 0 {
		return
	}
	for k := uint32(0); k < n; k++ {
		i := j.wrap(start + k)
		for s := uint32(0); s < j.g.sectionSectors; s++ {
			off := j.sectorOff(i, s)
			clear(j.buf[off : off+journalSectorData])
			j.setCommitID(i, s, seq)
		}
		for e := uint32(0); e < j.g.sectionEntries; e++ {
			j.setEntryHi(j.entryOff(i, e), entryUnused)
		}
	}
	j.write(start, n)
}

// write is write_journal: n sections from start (wrapping) get their MACs
// and are written and flushed. The caller holds mu.
func (j *journal) write(start, n uint32) {
	if err := j.writeOut(j.seal(start, n)); err != nil {
		j.x.ioError("writing journal", syscall.EIO)
	}
}

// sectionsIO is a write of consecutive journal sections: their bytes as
// the device takes them and where they go.
type sectionsIO struct {
	data    []byte
	atBytes int64
}

// seal is write_journal's part under mu: n sections from start
// (wrapping) get their MACs and, with journal_crypt, their encrypted
// copies; it returns the writes to make, none once the target has failed.
func (j *journal) seal(start, n uint32) []sectionsIO {
	for k := uint32(0); k < n; k++ {
		j.sectionMAC(j.wrap(start+k), true)
	}
	if j.x.failed != 0 {
		return nil
	}
	var ios []sectionsIO
	run := func(from, count uint32) {
		if count == 0 {
			return
		}
		lo, hi := j.sectorOff(from, 0), j.sectorOff(from+count, 0)
		data := j.buf[lo:hi]
		if j.crypt != nil {
			for i := from; i < from+count; i++ {
				j.crypt.encrypt(j.buf, i, j.sectorOff(i, 0), j.sectorOff(i+1, 0))
			}
			data = j.crypt.io[lo:hi]
		}
		at := int64(j.g.journalSectorOnDisk(uint64(from)*uint64(j.g.sectionSectors))) * 512
		ios = append(ios, sectionsIO{data, at})
	}
	first := min(n, j.g.journalSections-start)
	run(start, first)
	run(0, n-first)
	return ios
}

// writeOut is write_journal's I/O, which needs no lock (the bytes of the
// sections do not change meanwhile): each run of sections written with
// FUA (rw_journal's REQ_FUA). It returns the first error.
func (j *journal) writeOut(ios []sectionsIO) error {
	for _, io := range ios {
		if err := targets.DevWriteFUA(j.x.metaDev, io.data, io.atBytes); err != nil {
			return err
		}
	}
	return nil
}

// readAll reads the whole journal from the device into buf (through
// journal_io, decrypted, with journal_crypt).
func (j *journal) readAll() {
	at := int64(j.g.journalSectorOnDisk(0)) * 512
	n := j.sectorOff(j.g.journalSections, 0)
	dst := j.buf[:n]
	if j.crypt != nil {
		dst = j.crypt.io[:n]
	}
	if _, err := j.x.metaDev.ReadAt(dst, at); err != nil {
		j.x.ioError("reading journal", syscall.EIO)
		return
	}
	if j.crypt != nil {
		for i := uint32(0); i < j.g.journalSections; i++ {
			j.crypt.decrypt(j.buf, dst, i, j.sectorOff(i, 0), j.sectorOff(i+1, 0))
		}
	}
}

// sectionMAC is rw_section_mac: the journal_mac of a section's entry
// sectors, stored 8 bytes in each of its first 8 sectors (wr) or checked
// against them.
func (j *journal) sectionMAC(section uint32, wr bool) {
	x := j.x
	if x.jmac == nil {
		return
	}
	h := x.jmac.New(x.cfg.journalMAC.key)
	if x.sb.has(flagFixedHMAC) {
		h.Write(x.sb.salt())
		h.Write(binary.LittleEndian.AppendUint64(nil, uint64(section)))
	}
	for e := uint32(0); e < j.g.sectionEntries; e++ {
		off := j.entryOff(section, e)
		h.Write(j.buf[off : off+8])
	}
	var result [journalMACPerSector * journalBlockSectors]byte
	copy(result[:], h.Sum(nil))
	for s := uint32(0); s < journalBlockSectors; s++ {
		mac := j.buf[j.sectorOff(section, s)+journalSectorData-journalMACPerSector:][:journalMACPerSector]
		want := result[s*journalMACPerSector:][:journalMACPerSector]
		if wr {
			copy(mac, want)
		} else if string(mac) != string(want) {
			x.ioError("journal mac", syscall.EILSEQ)
		}
	}
}

// addNode records that journal position pos holds sector.
func (j *journal) addNode(sector uint64, pos uint32) { j.nodes[sector] = append(j.nodes[sector], pos) }

// removeNode forgets position pos of sector.
func (j *journal) removeNode(sector uint64, pos uint32) {
	l := j.nodes[sector]
	for k, p := range l {
		if p == pos {
			l = append(l[:k], l[k+1:]...)
			break
		}
	}
	if len(l) == 0 {
		delete(j.nodes, sector)
	} else {
		j.nodes[sector] = l
	}
}

// latest is find_journal_node: the newest position holding sector.
func (j *journal) latest(sector uint64) (uint32, bool) {
	l := j.nodes[sector]
	if len(l) == 0 {
		return 0, false
	}
	return l[len(l)-1], true
}

// newerCommitted is find_newer_committed_node: the sector of position pos
// is held again by a later position in a committed section.
func (j *journal) newerCommitted(sector uint64, pos uint32) bool {
	l := j.nodes[sector]
	for k, p := range l {
		if p != pos {
			continue
		}
		if k+1 == len(l) {
			return false
		}
		next := l[k+1] / j.g.sectionEntries
		end := j.committedSection + j.nCommitted
		return next >= j.committedSection && next < end || next+j.g.journalSections < end
	}
	return false
}

package raid

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// The raid4/5/6 journal is md's raid5-cache log (drivers/md/raid5-cache.c,
// struct r5l_meta_block and its payloads in include/uapi/linux/raid/md_p.h)
// on the journal device, little-endian, in 4 KiB blocks:
//
//	meta block: magic u32, checksum u32, version u8, pad u8, pad u16,
//	            meta_size u32 (the bytes used), seq u64, position u64
//	            (its own sector), then payloads up to meta_size:
//	  data/parity: type u16 (0 data, 1 parity), flags u16, size u32
//	            (sectors of pages that follow: 8 per page), location u64
//	            (data: the array sector of its page; parity: the stripe's
//	            sector on the members), one checksum u32 per page
//	  flush:    type u16 (2), flags u16, size u32 (bytes), stripe sectors u64...
//
// A meta block's pages follow it, in its payloads' order. Checksums are
// crc32c (no inversion) seeded with the array's uuid checksum; the meta
// block's is over the whole block with the checksum field zeroed. A log
// is a chain of meta blocks from a start whose seqs follow each other;
// recovery reads it while magic, version, seq, position and checksums
// hold.
//
// Where the chain starts: md keeps the log tail (journal_tail) in its
// superblock, but dm-raid's superblock has no such field and never reads
// or writes one for the journal device, so under dm-raid the tail is 0 at
// every load: r5l_load_log looks at sector 0, creates a new log there (an
// empty meta block with a random seq) when it holds no valid meta block,
// and otherwise recovers the chain that starts there. gdmsetup therefore
// starts every chain at sector 0: at load, after the replay, and at a
// clean stop, once the members hold everything logged, it writes an
// empty meta block at 0 with a seq 10000 past any seq used (md's rule
// against taking stale blocks for the chain's next ones), so that the
// chain from 0 always holds exactly the writes the members may lack.
const (
	r5logMagic       = 0x6433c509
	r5logVersion     = 1
	logBlockSectors  = 8 // BLOCK_SECTORS: meta blocks and pages are 4 KiB
	logBlockBytes    = logBlockSectors * sectorBytes
	metaHeaderBytes  = 32
	payloadData      = 0
	payloadParity    = 1
	payloadFlush     = 2
	payloadHdrBytes  = 16 // type, flags, size, location
	flushHdrBytes    = 8  // type, flags, size
	seqSkip          = 10000
	maxMetaBlockSize = logBlockBytes
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32cLE is the kernel's crc32c_le: the CRC's register seeded with seed,
// no inversion before or after.
func crc32cLE(seed uint32, p []byte) uint32 { return ^crc32.Update(^seed, castagnoli, p) }

// uuidChecksum is r5l_init_log's uuid_checksum: crc32c_le(~0) of md's
// 16-byte array uuid, which dm-raid leaves zero.
var uuidChecksum = crc32cLE(^uint32(0), make([]byte, 16))

// journal is the log on the journal device and where it goes on.
//
// Appends are group commits, as md's io_units gather the stripes of
// many writes: a writer's stripes join the pending group; the first of
// its writers to find no group being written becomes the leader, packs
// the group's stripes into meta blocks, writes and flushes them once for
// all (mu released meanwhile, so that later writers gather the next
// group) and wakes the others.
//
// Concurrency: mu guards every field below it; cond is broadcast when a
// group is taken or written and when inFlight falls to 0 (a log that is
// full starts again at 0 only once the members hold everything logged).
// A writer whose group was written writes the members after it, counted
// in inFlight until done.
type journal struct {
	dev         targets.Dev
	sizeSectors uint64 // device_size: the device rounded down to blocks
	// settle makes the members hold everything logged (writeback's cache
	// written out, the members flushed) before the log starts again;
	// flush only flushes the members.
	settle, flush func() error

	mu       sync.Mutex
	cond     *sync.Cond
	loaded   bool      // the log was found or made (r5l_load_log)
	start    uint64    // log_start: the sector of the next meta block
	seq      uint64    // the next meta block's seq
	chainSeq uint64    // the seq of the meta block at 0 that starts the chain
	inFlight int       // logged writers whose members are being written
	pending  *logGroup // the group gathering writers, nil when none is
	writing  bool      // a leader is writing a group
	// preFlushing: a flush of the members runs in the background, started
	// when the log passed half the device (preFlush)
	preFlushing bool
	preFlushed  sync.WaitGroup

	failed atomic.Bool // a write or flush of the journal device failed
}

// logGroup is one group commit: the stripes of its writers, in the
// order they joined, and, once written, the outcome they all share.
type logGroup struct {
	stripes []logStripe
	size    logSize
	writers int
	written bool
	err     error
}

func newJournal(dev targets.Dev, settle, flush func() error) *journal {
	j := &journal{dev: dev, sizeSectors: uint64(dev.SizeBytes()) / sectorBytes / logBlockSectors * logBlockSectors,
		settle: settle, flush: flush}
	j.cond = sync.NewCond(&j.mu)
	return j
}

// budgetSectors is the most one append logs: a quarter of the journal
// (md's max_free_space, past which it reclaims), and at least one stripe
// head of every member with its meta block.
func (j *journal) budgetSectors(members int) uint64 {
	return max(j.sizeSectors/4, logBlockSectors*uint64(2+members))
}

// logStripe is one stripe head as md logs it: its sector on the members,
// the pages of the data members written (in member order) and the new
// parity pages (P, then raid6's Q; none for writeback's data-only
// stripes).
type logStripe struct {
	sector uint64
	data   []logPage
	parity [][]byte
}

// logPage is a data page and the array sector it belongs at.
type logPage struct {
	arraySector uint64
	page        []byte
}

// metaBytes is the room the stripe needs in a meta block (r5l_log_stripe's
// meta_size, which counts a parity payload's header also for a data-only
// stripe).
func (s *logStripe) metaBytes() int {
	return len(s.data)*(payloadHdrBytes+4) + payloadHdrBytes + 4*len(s.parity)
}

// metaUsed is what the stripe's payloads take in the meta block: no
// parity payload for a data-only stripe (writeback's caching).
func (s *logStripe) metaUsed() int {
	if len(s.parity) == 0 {
		return len(s.data) * (payloadHdrBytes + 4)
	}
	return s.metaBytes()
}

// pages is how many pages follow the stripe's payloads.
func (s *logStripe) pages() int { return len(s.data) + len(s.parity) }

// logSize counts the journal space of stripes packed into meta blocks
// as r5l_get_meta packs them: a new meta block when the stripe's payloads
// do not fit in the current one's page.
type logSize struct {
	sectors  uint64
	metaUsed int // bytes used of the last meta block (0: none yet)
}

// add counts the stripe in.
func (z *logSize) add(s *logStripe) {
	if z.metaUsed == 0 || z.metaUsed+s.metaBytes() > maxMetaBlockSize {
		z.sectors += logBlockSectors
		z.metaUsed = metaHeaderBytes
	}
	z.metaUsed += s.metaUsed()
	z.sectors += uint64(s.pages()) * logBlockSectors
}

// with is the space once the stripes are counted in too.
func (z logSize) with(stripes []logStripe) uint64 {
	for i := range stripes {
		z.add(&stripes[i])
	}
	return z.sectors
}

// metaBlock is a meta block being filled.
type metaBlock struct {
	b   []byte
	off int
}

func newMetaBlock(seq, position uint64) *metaBlock {
	b := make([]byte, logBlockBytes)
	le := binary.LittleEndian
	le.PutUint32(b[0:], r5logMagic)
	b[8] = r5logVersion
	le.PutUint64(b[16:], seq)
	le.PutUint64(b[24:], position)
	return &metaBlock{b: b, off: metaHeaderBytes}
}

// payload appends a data or parity payload with one checksum per page.
func (m *metaBlock) payload(typ uint16, location uint64, pages ...[]byte) {
	le := binary.LittleEndian
	p := m.b[m.off:]
	le.PutUint16(p[0:], typ)
	le.PutUint32(p[4:], uint32(len(pages)*logBlockSectors))
	le.PutUint64(p[8:], location)
	for i, pg := range pages {
		le.PutUint32(p[payloadHdrBytes+4*i:], crc32cLE(uuidChecksum, pg))
	}
	m.off += payloadHdrBytes + 4*len(pages)
}

// seal sets meta_size and the checksum (r5l_submit_current_io).
func (m *metaBlock) seal() []byte {
	le := binary.LittleEndian
	le.PutUint32(m.b[12:], uint32(m.off))
	le.PutUint32(m.b[4:], 0)
	le.PutUint32(m.b[4:], crc32cLE(uuidChecksum, m.b))
	return m.b
}

// append logs the stripes (at most budget sectors of them) in a group
// commit: packed with those of the writers gathered with it into meta
// blocks, each followed by its pages, written at the log's head and
// flushed (writethrough: the journal holds them before the members are
// written); the caller then writes the members (or caches the pages)
// and calls done. A log without room for a group starts again at 0 once
// the members hold everything logged before (settle).
func (j *journal) append(stripes []logStripe, budget uint64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.pending != nil && j.pending.size.with(stripes) > budget && !j.failed.Load() {
		j.cond.Wait()
	}
	if j.failed.Load() {
		return errIO
	}
	if j.pending == nil {
		j.pending = &logGroup{}
	}
	g := j.pending
	g.stripes = append(g.stripes, stripes...)
	for i := range stripes {
		g.size.add(&stripes[i])
	}
	g.writers++
	for !g.written && j.writing {
		j.cond.Wait()
	}
	if g.written {
		return g.err
	}
	j.writing, j.pending = true, nil
	j.cond.Broadcast()
	g.err = j.commit(g)
	if g.err == nil {
		j.inFlight += g.writers
	}
	g.written, j.writing = true, false
	j.cond.Broadcast()
	return g.err
}

// commit writes a group at the log's head and flushes it, mu released
// while the journal device writes; mu held.
func (j *journal) commit(g *logGroup) error {
	need := g.size.sectors
	if j.start+need > j.sizeSectors {
		for j.inFlight > 0 {
			j.cond.Wait()
		}
		if err := j.settle(); err != nil {
			return err
		}
		if err := j.restart(j.seq + seqSkip); err != nil {
			return err
		}
		if j.start+need > j.sizeSectors {
			return fmt.Errorf("journal %s: %d sectors of log do not fit in %d", j.dev.Name(), need, j.sizeSectors)
		}
	}
	at := j.start
	buf := j.encode(g.stripes, need)
	j.start += need
	if half := j.sizeSectors / 2; at < half && j.start >= half {
		j.preFlush()
	}
	j.mu.Unlock()
	err := j.writeFlush(buf, at)
	j.mu.Lock()
	return err
}

// preFlush starts flushing the members in the background, once at a
// time, as md's reclaim thread flushes the raid disks before it moves the
// log's tail: when the log fills up and starts again, the flush it needs
// first finds less to write. It changes nothing the log relies on (that
// flush is still made). mu held.
func (j *journal) preFlush() {
	if j.preFlushing {
		return
	}
	j.preFlushing = true
	j.preFlushed.Add(1)
	go func() {
		defer j.preFlushed.Done()
		j.flush() // a member that fails is failed by flush; the restart's settle reports it
		j.mu.Lock()
		j.preFlushing = false
		j.mu.Unlock()
	}()
}

// encode packs the stripes into meta blocks from the log's head, each
// followed by its pages, taking seqs from j.seq; need is their logSize.
// mu held.
func (j *journal) encode(stripes []logStripe, need uint64) []byte {
	buf := make([]byte, 0, need*sectorBytes)
	var mb *metaBlock
	metaAt := 0
	sealMeta := func() {
		if mb != nil {
			copy(buf[metaAt:], mb.seal())
		}
	}
	for i := range stripes {
		s := &stripes[i]
		if mb == nil || mb.off+s.metaBytes() > maxMetaBlockSize {
			sealMeta()
			metaAt = len(buf)
			mb = newMetaBlock(j.seq, j.start+uint64(metaAt)/sectorBytes)
			j.seq++
			buf = append(buf, make([]byte, logBlockBytes)...)
		}
		for _, d := range s.data {
			mb.payload(payloadData, d.arraySector, d.page)
			buf = append(buf, d.page...)
		}
		if len(s.parity) > 0 {
			mb.payload(payloadParity, s.sector, s.parity...)
		}
		for _, p := range s.parity {
			buf = append(buf, p...)
		}
	}
	sealMeta()
	return buf
}

// done ends a writer's batch that append logged: its members are written.
func (j *journal) done() {
	j.mu.Lock()
	j.inFlight--
	if j.inFlight == 0 {
		j.cond.Broadcast()
	}
	j.mu.Unlock()
}

// restart starts a new chain at sector 0 with an empty meta block of seq
// (r5l_log_write_empty_meta_block, written with FUA): the members must
// hold everything the old chain logged. mu held.
func (j *journal) restart(seq uint64) error {
	mb := newMetaBlock(seq, 0)
	if err := j.writeFlush(mb.seal(), 0); err != nil {
		return err
	}
	j.chainSeq, j.seq, j.start = seq, seq+1, logBlockSectors
	return nil
}

// writeFlush writes b at the sector of the journal device and flushes
// it; a failure fails the journal (later writes get EIO, as md refuses
// writes once its journal is Faulty).
func (j *journal) writeFlush(b []byte, sector uint64) error {
	_, err := j.dev.WriteAt(b, int64(sector)*sectorBytes)
	if err == nil {
		err = j.dev.Flush()
	}
	if err != nil {
		j.failed.Store(true)
		return fmt.Errorf("journal %s at sector %d: %w", j.dev.Name(), sector, err)
	}
	return nil
}

// randomSeq is create_super's get_random_u32.
func randomSeq() uint64 {
	var b [4]byte
	rand.Read(b[:])
	return uint64(binary.LittleEndian.Uint32(b[:]))
}

// logStripes is what md logs for a segment of a row written: per page
// (a stripe head), the new page of each data member written, in member
// order, at its array sector, then, withParity, the new parity pages.
// bufs holds the segment's bytes of every member written (and of the
// parity).
func (r *Raid) logStripes(rw *row, parts []rowPart, sg segment, bufs [][]byte, withParity bool) []logStripe {
	dataDisks := uint64(len(rw.data))
	chunkOf := make(map[int]uint64) // member -> its data chunk's index in the row
	for _, pt := range parts {
		if pt.offSectors < sg.hi && pt.endSectors() > sg.lo {
			chunkOf[rw.data[pt.k]] = uint64(pt.k)
		}
	}
	var out []logStripe
	for pg := sg.lo; pg < sg.hi; pg += pageSectors {
		at := (pg - sg.lo) * sectorBytes
		st := logStripe{sector: rw.stripe*r.chunkSectors + pg}
		for m := range r.members {
			if k, ok := chunkOf[m]; ok {
				st.data = append(st.data, logPage{(rw.stripe*dataDisks+k)*r.chunkSectors + pg, bufs[m][at : at+logBlockBytes]})
			}
		}
		if withParity {
			st.parity = append(st.parity, bufs[rw.pd][at:at+logBlockBytes])
			if rw.qd >= 0 {
				st.parity = append(st.parity, bufs[rw.qd][at:at+logBlockBytes])
			}
		}
		out = append(out, st)
	}
	return out
}

// movedOn reports whether the log went on after the state restored
// (start, seq, chainSeq) was saved: the chain at 0 is another one, or a
// meta block with the next seq sits at the head.
func (j *journal) movedOn() bool {
	if _, ok := j.readMeta(0, j.chainSeq, true); !ok {
		return true
	}
	_, ok := j.readMeta(j.start, j.seq, true)
	return ok
}

// quiesce empties the log at a clean stop, the members flushed: a new
// chain at 0 (none when nothing was logged since the last one began), so
// that no load, gdmsetup's or the kernel's, replays writes older than
// what the members hold.
func (j *journal) quiesce() error {
	j.preFlushed.Wait()
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.inFlight > 0 || j.writing || j.pending != nil {
		j.cond.Wait()
	}
	if !j.loaded || j.start == logBlockSectors || j.failed.Load() {
		return nil
	}
	return j.restart(j.seq + seqSkip)
}

// ensureJournal loads the log of a table built without loading it (an
// inactive table rebuilt in a later process), before it goes live.
func (r *Raid) ensureJournal() error {
	if r.jr == nil {
		return nil
	}
	r.jr.mu.Lock()
	loaded := r.jr.loaded
	r.jr.mu.Unlock()
	if loaded {
		return nil
	}
	if err := r.loadJournal(); err != nil {
		return targets.Errorf(syscall.EIO, "Failed to start raid array: %v", err)
	}
	return nil
}

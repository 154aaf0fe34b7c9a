package snapshot

import (
	"encoding/binary"
	"fmt"
	"sync"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// The persistent exception store's on-disk format (dm-snap-persistent.c),
// little-endian throughout. Chunk 0 of the COW device is the header; chunk
// 1 is the first metadata area, holding chunkBytes/16 exceptions
// (old_chunk, new_chunk as two le64); the data chunks of those exceptions
// follow it, then the next area, and so on. An exception whose new_chunk
// is 0 (the header chunk) ends the list.
const (
	snapMagic         = 0x70416e53 // "SnAp"
	snapDiskVersion   = 1
	hdrChunks         = 1
	exceptionBytes    = 16
	defaultChunkSects = 32 // DM_CHUNK_SIZE_DEFAULT_SECTORS
)

// header is the COW device's first 16 bytes.
type header struct {
	Magic, Valid, Version, ChunkSectors uint32
}

func decodeHeader(b []byte) header {
	le := binary.LittleEndian
	return header{le.Uint32(b[0:]), le.Uint32(b[4:]), le.Uint32(b[8:]), le.Uint32(b[12:])}
}

// persistent is the P (and PO) store. Its fields are guarded by mu.
type persistent struct {
	cow  targets.Dev
	logf func(format string, args ...any)
	// overflow is the O option: a full COW device stops writes to the
	// snapshot instead of invalidating it (userspace_supports_overflow).
	overflow bool

	mu      sync.Mutex
	chunk   uint64 // sectors
	valid   bool
	version uint32
	perArea uint64 // exceptions per metadata area
	// area is the current metadata area as on disk after the last commit
	// plus the exceptions committed since.
	area []byte
	// currentArea is the index of the area being filled; committed is how
	// many exceptions it holds; nextFree the next chunk to allocate.
	currentArea, committed, nextFree uint64
}

// newPersistent is persistent_ctr: options is what follows P in the table
// ("O" or nothing).
func newPersistent(cow targets.Dev, chunkSectors uint64, options string, logf func(string, ...any)) (*persistent, error) {
	ps := &persistent{cow: cow, logf: logf, chunk: chunkSectors, valid: true, version: snapDiskVersion,
		nextFree: hdrChunks + 1}
	if options != "" {
		if c := options[0]; c == 'O' || c == 'o' {
			ps.overflow = true
		} else {
			logf("persistent snapshot: Unsupported persistent store option: %s", options)
			return nil, syscall.EINVAL
		}
	}
	return ps, nil
}

func (ps *persistent) persistent() bool { return true }

func (ps *persistent) chunkSectors() uint64 {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.chunk
}

func (ps *persistent) chunkBytes() int { return int(ps.chunk * targets.SectorSize) }

// areaLocation is the chunk of metadata area i.
func (ps *persistent) areaLocation(i uint64) uint64 {
	return hdrChunks + (ps.perArea+1)*i
}

// skipMetadata moves nextFree past a metadata area's chunk.
func (ps *persistent) skipMetadata() {
	if ps.nextFree%(ps.perArea+1) == hdrChunks {
		ps.nextFree++
	}
}

// readHeader is read_header: newSnapshot for a zeroed header, the chunk
// size taken from the header when it differs from the table's.
func (ps *persistent) readHeader() (newSnapshot bool, err error) {
	supplied := ps.chunk != 0
	if !supplied {
		ps.chunk = defaultChunkSects
	}
	buf := make([]byte, ps.chunkBytes())
	if err := chunkIO(ps.cow, buf, 0, chunkRead); err != nil {
		return false, err
	}
	h := decodeHeader(buf)
	if h.Magic == 0 {
		return true, nil
	}
	if h.Magic != snapMagic {
		ps.logf("persistent snapshot: Invalid or corrupt snapshot")
		return false, fmt.Errorf("%s: header magic %#x is not a snapshot's: %w", ps.cow.Name(), h.Magic, syscall.ENXIO)
	}
	ps.valid, ps.version = h.Valid != 0, h.Version
	if uint64(h.ChunkSectors) == ps.chunk {
		return false, nil
	}
	if supplied {
		ps.logf("persistent snapshot: chunk size %d in device metadata overrides table chunk size of %d.", h.ChunkSectors, ps.chunk)
	}
	if err := checkChunkSectors(uint64(h.ChunkSectors)); err != nil {
		ps.logf("persistent snapshot: invalid on-disk chunk size %d: %v.", h.ChunkSectors, err)
		return false, fmt.Errorf("%s: on-disk chunk size %d: %v: %w", ps.cow.Name(), h.ChunkSectors, err, syscall.EINVAL)
	}
	if cowSectors := devSectors(ps.cow); uint64(h.ChunkSectors) > cowSectors {
		// the kernel allocates the chunk (up to 2 GiB) and fails reading
		// the first area past the device's end
		return false, fmt.Errorf("%s: on-disk chunk size %d is larger than the device (%d sectors): %w", ps.cow.Name(), h.ChunkSectors, cowSectors, syscall.EIO)
	}
	ps.chunk = uint64(h.ChunkSectors)
	return false, nil
}

// writeHeader is write_header: the whole header chunk, zeros after the
// 16 bytes, a plain write (the next commit's flush makes it durable).
func (ps *persistent) writeHeader() error {
	buf := make([]byte, ps.chunkBytes())
	le := binary.LittleEndian
	valid := uint32(0)
	if ps.valid {
		valid = 1
	}
	le.PutUint32(buf[0:], snapMagic)
	le.PutUint32(buf[4:], valid)
	le.PutUint32(buf[8:], ps.version)
	le.PutUint32(buf[12:], uint32(ps.chunk))
	return chunkIO(ps.cow, buf, 0, chunkWrite)
}

// readMetadata is persistent_read_metadata.
func (ps *persistent) readMetadata(add func(oldChunk, newChunk uint64)) (bool, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	newSnapshot, err := ps.readHeader()
	if err != nil {
		return false, err
	}
	ps.perArea = uint64(ps.chunkBytes()) / exceptionBytes
	if newSnapshot {
		if err := ps.writeHeader(); err != nil {
			ps.logf("persistent snapshot: write_header failed")
			return false, err
		}
		ps.currentArea = 0
		ps.area = make([]byte, ps.chunkBytes())
		if err := chunkIO(ps.cow, make([]byte, ps.chunkBytes()), ps.areaLocation(0), chunkWrite); err != nil {
			ps.logf("persistent snapshot: zero_disk_area(0) failed")
			return false, err
		}
		return false, nil
	}
	if ps.version != snapDiskVersion {
		ps.logf("persistent snapshot: unable to handle snapshot disk version %d", ps.version)
		return false, fmt.Errorf("%s: snapshot disk version %d: %w", ps.cow.Name(), ps.version, syscall.EINVAL)
	}
	if !ps.valid {
		return true, nil
	}
	return false, ps.readExceptions(add)
}

// readExceptions is read_exceptions: areas in turn until one that is not
// full, which becomes the current area.
func (ps *persistent) readExceptions(add func(oldChunk, newChunk uint64)) error {
	le := binary.LittleEndian
	buf := make([]byte, ps.chunkBytes())
	for ps.currentArea = 0; ; ps.currentArea++ {
		if err := chunkIO(ps.cow, buf, ps.areaLocation(ps.currentArea), chunkRead); err != nil {
			return fmt.Errorf("metadata area %d: %w", ps.currentArea, err)
		}
		full := true
		for i := uint64(0); i < ps.perArea; i++ {
			oldChunk, newChunk := le.Uint64(buf[i*exceptionBytes:]), le.Uint64(buf[i*exceptionBytes+8:])
			if newChunk == 0 {
				ps.committed, full = i, false
				break
			}
			ps.nextFree = max(ps.nextFree, newChunk+1)
			add(oldChunk, newChunk)
		}
		if !full {
			ps.area = buf
			break
		}
	}
	ps.skipMetadata()
	return nil
}

func (ps *persistent) prepare() (uint64, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if devSectors(ps.cow) < (ps.nextFree+1)*ps.chunk {
		return 0, syscall.ENOSPC
	}
	c := ps.nextFree
	ps.nextFree++
	ps.skipMetadata()
	return c, nil
}

// commit is persistent_commit_exception for a batch of exceptions that
// were pending at once, in allocation order: each goes into the current
// area; an area that fills gets the next one zeroed on disk and is
// written; the last one's area is written at the end. An area is written
// with a flush before (the copied data) and FUA (chunkCommit); a failed copy or write
// leaves the store invalid, and an invalid store writes no area.
func (ps *persistent) commit(batch []exception) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	le := binary.LittleEndian
	for i, e := range batch {
		if !e.copied {
			ps.valid = false
		}
		le.PutUint64(ps.area[ps.committed*exceptionBytes:], e.oldChunk)
		le.PutUint64(ps.area[ps.committed*exceptionBytes+8:], e.newChunk)
		ps.committed++
		full := ps.committed == ps.perArea
		if !full && i < len(batch)-1 {
			continue
		}
		if full && chunkIO(ps.cow, make([]byte, ps.chunkBytes()), ps.areaLocation(ps.currentArea+1), chunkWrite) != nil {
			ps.valid = false
		}
		if ps.valid {
			if chunkIO(ps.cow, ps.area, ps.areaLocation(ps.currentArea), chunkCommit) != nil {
				ps.valid = false
			}
		}
		if full {
			ps.committed = 0
			ps.currentArea++
			ps.area = make([]byte, ps.chunkBytes())
		}
	}
	return ps.valid
}

// prepareMerge is persistent_prepare_merge: the last exception committed
// (moving back to the previous area, read from disk, when the current one
// is empty) and how many exceptions before it, in the same area, are
// consecutive with it in both chunk numbers. n is 0 when none is left.
func (ps *persistent) prepareMerge() (n, lastOld, lastNew uint64, err error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.committed == 0 {
		if ps.currentArea == 0 {
			return 0, 0, 0, nil
		}
		ps.currentArea--
		if err := chunkIO(ps.cow, ps.area, ps.areaLocation(ps.currentArea), chunkRead); err != nil {
			return 0, 0, 0, fmt.Errorf("metadata area %d: %w", ps.currentArea, err)
		}
		ps.committed = ps.perArea
	}
	le := binary.LittleEndian
	at := func(i uint64) (uint64, uint64) {
		return le.Uint64(ps.area[i*exceptionBytes:]), le.Uint64(ps.area[i*exceptionBytes+8:])
	}
	lastOld, lastNew = at(ps.committed - 1)
	for n = 1; n < ps.committed; n++ {
		o, nw := at(ps.committed - 1 - n)
		if o != lastOld-n || nw != lastNew-n {
			break
		}
	}
	return n, lastOld, lastNew, nil
}

// commitMerge is persistent_commit_merge: the last n exceptions cleared
// and the area written (a flush before, with FUA: chunkCommit); nextFree is set as if
// every exception had been committed in order.
func (ps *persistent) commitMerge(n uint64) error {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for i := uint64(0); i < n; i++ {
		clear(ps.area[(ps.committed-1-i)*exceptionBytes : (ps.committed-i)*exceptionBytes])
	}
	if err := chunkIO(ps.cow, ps.area, ps.areaLocation(ps.currentArea), chunkCommit); err != nil {
		return err
	}
	ps.committed -= n
	ps.nextFree = ps.areaLocation(ps.currentArea) + ps.committed + 1
	return nil
}

func (ps *persistent) usage() (allocated, total, metadata uint64) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.nextFree * ps.chunk, devSectors(ps.cow), (ps.currentArea + 1 + hdrChunks) * ps.chunk
}

// drop is persistent_drop_snapshot: the header says invalid from now on.
func (ps *persistent) drop() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.valid = false
	if ps.writeHeader() != nil {
		ps.logf("persistent snapshot: write header failed")
	}
}

func (ps *persistent) tableArgs() string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	kind := "P"
	if ps.overflow {
		kind = "PO"
	}
	return fmt.Sprintf(" %s %d", kind, ps.chunk)
}

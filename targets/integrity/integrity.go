// Package integrity is the dm-integrity target (drivers/md/dm-integrity.c,
// v1.10.0): a tag per block (a checksum by internal_hash, or nothing when
// the layer above gives the tags) kept in areas interleaved with the data,
// checked on every read. Mode D writes data and tags in place, mode J
// writes through a journal first (committed on a flush, replayed by the
// next table after a crash), mode B keeps a bitmap of dirty regions whose
// tags are recalculated after a crash, mode R reads without checks. The
// superblock, the journal and the tag areas are the kernel's own format,
// so a device formatted by the kernel or by integritysetup loads here and
// one formatted here loads there.
package integrity

import (
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gdmsetup/gdmsetup/targets"
	"github.com/gdmsetup/gdmsetup/targets/cryptoapi"
)

// Type is the integrity target's registration (DM_TARGET_SINGLETON).
var Type = targets.Type{Name: "integrity", Version: [3]int{1, 10, 0}, New: New, Singleton: true}

// Integrity is one integrity table line.
//
// Concurrency, as the kernel's endio_wait.lock and range locks do it
// together:
//   - mu guards the state: the superblock copy, the failed state, the
//     journal (its positions, its tree, its memory), the bitmaps, the
//     timers' work, suspended and bg, and the range locks. Status,
//     suspend, resume and the background work (autocommit, bitmap flush,
//     recalculation) run under it.
//   - ranges orders I/O by the sectors it covers: a read, write or
//     discard locks its range (under mu) for its whole run, so that in
//     modes D, B and R the data, the tags and the checksums of disjoint
//     ranges are read, written and computed at once, outside mu. The
//     bitmap flush locks the whole device, a recalculation chunk its
//     sectors. In mode J the journal's allocation and the copy into it
//     are under mu (the checksums are computed before), reads from the
//     journal too; reads of what the journal does not hold go to the
//     data device outside mu: the journal cannot take those sectors
//     meanwhile (a write to them waits for the read's range). A commit
//     writes its sections to the journal with mu released (one at a
//     time). The journal's writer (journal_writer.go, a goroutine of its
//     own) locks each run of entries it copies into place and writes it
//     outside mu: it waits for the reads of those sectors, not for the
//     writes into the journal (rangeKind), and a read of them waits for
//     it.
//   - tagMu serialises tag writes when they may read, patch and write
//     whole sectors (a metadata device that is not a file), so that two
//     ranges' tags sharing a sector do not undo each other.
//   - mismatches is atomic; geo.log2Il is set by the constructor and
//     again by a resume (under mu, while suspended: see adoptInterleave);
//     everything else is set by the constructor and read-only after.
type Integrity struct {
	ctx          *targets.Context
	dev, metaDev targets.Dev // metaDev is dev when there is no meta_device
	cfg          config
	geo          geometry
	hash         *cryptoapi.Hash // internal_hash, nil without one
	jmac         *cryptoapi.Hash // journal_mac, nil without one
	dmName       string          // "dm-N", as the kernel's %pg prints the device
	log2BPB      uint            // log2 blocks per bitmap bit (ic->log2_blocks_per_bitmap_bit)
	maxIOSectors uint64          // ti->max_io_len, from the constructor's superblock; 0 for none
	hmacSalt     []byte          // the superblock's salt with fix_hmac (checksums begin with it), else nil
	tagsRMW      bool            // tag writes take tagMu

	mismatches atomic.Uint64
	tagMu      sync.Mutex

	mu     sync.Mutex
	ranges rangeLocks
	sb     superblock
	failed syscall.Errno // the first error (dm_integrity_io_error), 0 if none
	j      *journal      // nil in mode R
	bitmap *bitmaps      // mode B only

	justFormatted   bool
	journalUptodate bool
	suspended       bool
	autocommit      *time.Timer // armed by a write not yet committed
	bg              *background // nil while no background work runs
	recalcCounter   int         // chunks since the last superblock write (integrity_recalc's super_counter)
}

// config is what the table line sets, kept to print the line back.
type config struct {
	startSector    uint64
	tagSize        uint32 // from the line; 0 for "-" until the digest's size
	mode           byte
	journalSectors uint32
	interleave     uint32
	bufferSectors  uint32
	watermark      uint32
	commitMs       uint32
	metaDevPath    string
	blockSectors   uint32
	sectorsPerBit  int // log2, -1 when not given
	bitmapFlushMs  uint32
	internalHash   algSpec
	journalCrypt   algSpec
	journalMAC     algSpec
	recalculate    bool
	resetRecalc    bool
	discards       bool
	fixPadding     bool
	fixHMAC        bool
	legacyRecalc   bool
}

// algSpec is an algorithm argument: name[:key in hex].
type algSpec struct {
	name, keyHex string
	key          []byte
	set          bool
}

// dmDiskName is the disk name of a mapped device "253:N": "dm-N".
func dmDiskName(devName string) string {
	if _, minor, ok := strings.Cut(devName, ":"); ok {
		return "dm-" + minor
	}
	return devName
}

// ioError is dm_integrity_io_error: the first error is kept and logged;
// every later I/O fails with it. EILSEQ counts a mismatch.
func (x *Integrity) ioError(what string, errno syscall.Errno) {
	if errno == syscall.EILSEQ {
		x.mismatches.Add(1)
	}
	if x.failed == 0 {
		x.failed = errno
		x.ctx.Logf("integrity: Error on %s: %d", what, -int(errno))
	}
}

// LogicalBlockBytes is dm_integrity_io_hints: the block size.
func (x *Integrity) LogicalBlockBytes() int64 { return int64(x.geo.blockSectors()) * 512 }

// MaxIOSectors is the target's max_io_len, set by the constructor: an
// interleaved area (no I/O crosses one), and in mode B the sectors one
// bitmap block covers. A resume that reads another interleave from the
// device does not change it.
func (x *Integrity) MaxIOSectors() uint64 { return x.maxIOSectors }

// setMaxIOSectors is dm_set_target_max_io_len at the constructor's end.
func (x *Integrity) setMaxIOSectors() {
	var n uint64
	if !x.geo.metaDev {
		n = 1 << x.geo.log2Il
	}
	if x.cfg.mode == 'B' {
		b := x.geo.blockSectors() << x.log2BPB * bitmapBlockBytes * 8
		if b == 0 || b > 1<<31 {
			b = 1 << 31
		}
		if n == 0 || n > b {
			n = b
		}
	}
	x.maxIOSectors = n
}

// Areas is dm_integrity_iterate_devices: the data device from the first
// data sector for the line's length (from 0 with a metadata device).
func (x *Integrity) Areas() []targets.Area {
	if x.geo.metaDev {
		return []targets.Area{{Dev: x.dev, LenSectors: x.ctx.Len}}
	}
	return []targets.Area{{Dev: x.dev, StartSector: x.geo.startSector + x.geo.initialSectors + x.geo.metadataRun,
		LenSectors: x.ctx.Len}}
}

package writecache

import (
	"encoding/binary"
	"math/bits"
	"syscall"
	"time"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Defaults and limits of the optional arguments (HIGH_WATERMARK,
// LOW_WATERMARK, AUTOCOMMIT_BLOCKS_SSD, AUTOCOMMIT_MSEC, PAUSE_WRITEBACK).
const (
	defaultHighPercent    = 50
	defaultLowPercent     = 45
	defaultAutocommitBlks = 65536
	defaultAutocommit     = time.Second
	defaultPause          = 3 * time.Second
	maxAutocommitMs       = 3600000
	maxAgeMs              = 86400000
	maxPauseMs            = 60000
	maxFeatureArgs        = 18
	pageBytes             = 4096
)

// config is what the table line sets. The *Set fields and the values typed
// make the table line back (writecache_status, STATUSTYPE_TABLE).
type config struct {
	blockBytes  uint32
	startSector uint64

	highPercent, lowPercent int32
	writebackJobs           uint32 // printed only: writeback copies one run at a time
	autocommitBlocks        uint32
	autocommit              time.Duration
	autocommitMs            uint32
	maxAge                  time.Duration
	maxAgeMs                uint32
	pause                   time.Duration
	pauseMs                 uint32
	cleaner, metadataOnly   bool

	startSet, highSet, lowSet, jobsSet, blocksSet, timeSet, maxAgeSet, cleanerSet, pauseSet bool
}

// New is writecache_ctr:
// <p|s> <origin> <cache> <block size> <#feature args> [<feature arg>]*.
// Errors come in the kernel's order with its words. Persistent memory
// (p) needs DAX, which no device here has.
func New(ctx *targets.Context, args []string) (targets.Target, error) {
	w := &Writecache{ctx: ctx, lenSectors: ctx.Len, lastOriginWrite: time.Now()}
	w.cfg = config{highPercent: defaultHighPercent, lowPercent: defaultLowPercent,
		autocommitBlocks: defaultAutocommitBlks, autocommit: defaultAutocommit, pause: defaultPause}
	as := &targets.ArgSet{Args: args}
	mode, ok := as.Shift()
	if !ok {
		return nil, badArguments
	}
	pmem := false
	switch targets.LowerASCII(mode) {
	case "s":
	case "p":
		pmem = true
	default:
		return nil, badArguments
	}
	var err error
	word, ok := as.Shift()
	if !ok {
		return nil, badArguments
	}
	if w.origin, err = ctx.Open(word); err != nil {
		return nil, targets.Errorf(targets.OpenErrno(err), "Origin data device lookup failed")
	}
	if word, ok = as.Shift(); !ok {
		return nil, badArguments
	}
	if w.cache, err = ctx.Open(word); err != nil {
		return nil, targets.Errorf(targets.OpenErrno(err), "Cache data device lookup failed")
	}
	if word, ok = as.Shift(); !ok {
		return nil, badArguments
	}
	bs, ok := targets.ScanUint(word, 32)
	if !ok || bs < targets.SectorSize || bs > pageBytes || bs&(bs-1) != 0 {
		return nil, targets.Invalid("Invalid block size")
	}
	w.cfg.blockBytes = uint32(bs)
	w.blockShift = uint(bits.TrailingZeros64(bs))
	if err := w.cfg.parseFeatures(as, pmem, uint64(w.cache.SizeBytes())); err != nil {
		return nil, err
	}
	if w.cfg.highPercent < w.cfg.lowPercent {
		return nil, targets.Invalid("High watermark must be greater than or equal to low watermark")
	}
	if pmem {
		return nil, targets.Errorf(syscall.EOPNOTSUPP, "Asynchronous persistent memory not supported as pmem cache")
	}
	if err := w.open(); err != nil {
		return nil, err
	}
	if ctx.Restored {
		w.restore()
	}
	return w, nil
}

// badArguments is the constructor's error for missing or unknown words.
var badArguments = targets.Invalid("Bad arguments")

// parseFeatures reads the optional arguments; sizeBytes is the cache
// device's size (start_sector must lie inside it).
func (c *config) parseFeatures(as *targets.ArgSet, pmem bool, sizeBytes uint64) error {
	n, err := as.ReadArgGroup(0, maxFeatureArgs, "Invalid number of feature args")
	if err != nil {
		return err
	}
	invalid := targets.Invalid("Invalid optional argument")
	for n > 0 {
		word, _ := as.Shift()
		n--
		name := targets.LowerASCII(word)
		if n == 0 || name == "cleaner" || name == "fua" || name == "nofua" || name == "metadata_only" {
			switch name {
			case "cleaner":
				c.cleaner, c.cleanerSet = true, true
			case "metadata_only":
				c.metadataOnly = true
			default:
				// fua and nofua are for persistent memory only, which is
				// refused later in any case
				if !pmem || name != "fua" && name != "nofua" {
					return invalid
				}
			}
			continue
		}
		val, _ := as.Shift()
		n--
		if !c.setValued(name, val, pmem, sizeBytes) {
			return invalid
		}
	}
	return nil
}

// setValued sets one option that takes a value; false when the name is
// unknown or the value bad.
func (c *config) setValued(name, val string, pmem bool, sizeBytes uint64) bool {
	u32 := func() (uint32, bool) {
		v, ok := targets.ScanUint(val, 32)
		return uint32(v), ok
	}
	ms := func(limit uint32) (uint32, time.Duration, bool) {
		v, ok := u32()
		return v, time.Duration(v) * time.Millisecond, ok && v <= limit
	}
	var ok bool
	switch name {
	case "start_sector":
		c.startSector, ok = targets.ScanUint(val, 64)
		c.startSet = true
		return ok && c.startSector < sizeBytes/targets.SectorSize
	case "high_watermark":
		c.highPercent, ok = scanInt32(val)
		c.highSet = true
		return ok && c.highPercent >= 0 && c.highPercent <= 100
	case "low_watermark":
		c.lowPercent, ok = scanInt32(val)
		c.lowSet = true
		return ok && c.lowPercent >= 0 && c.lowPercent <= 100
	case "writeback_jobs":
		c.writebackJobs, ok = u32()
		c.jobsSet = true
	case "autocommit_blocks":
		c.autocommitBlocks, ok = u32()
		c.blocksSet = true
	case "autocommit_time":
		c.autocommitMs, c.autocommit, ok = ms(maxAutocommitMs)
		c.timeSet = true
	case "max_age":
		c.maxAgeMs, c.maxAge, ok = ms(maxAgeMs)
		c.maxAgeSet = true
	case "pause_writeback":
		if pmem {
			return false
		}
		c.pauseMs, c.pause, ok = ms(maxPauseMs)
		c.pauseSet = true
	}
	return ok
}

// scanInt32 reads a number as the kernel's sscanf("%d"): an optional '-',
// decimal digits, nothing after them; too large a value wraps.
func scanInt32(s string) (int32, bool) {
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	v, ok := targets.ScanUint(s, 64)
	if neg {
		v = -v
	}
	return int32(v), ok
}

// open is the rest of writecache_ctr in SSD mode: the sizes from the cache
// device, its first block read, a zeroed one formatted, the superblock
// checked, the watermarks set.
func (w *Writecache) open() error {
	c := &w.cfg
	bs := uint64(c.blockBytes)
	mapBytes := uint64(w.cache.SizeBytes()) - c.startSector*targets.SectorSize
	nBlocks, metaBytes, err := sizeFor(mapBytes, bs)
	if err != nil {
		return targets.Errorf(errnoOf(err), "Invalid device size")
	}
	if (metaBytes+regionBytes-1)/regionBytes > 1<<31 {
		return targets.Errorf(syscall.EFBIG, "Invalid device size")
	}
	w.img = make([]byte, metaBytes)
	w.dirty = make([]uint64, ((metaBytes+regionBytes-1)/regionBytes+63)/64)
	w.metadataSectors = metaBytes / targets.SectorSize
	if _, err := w.cache.ReadAt(w.img[:bs], int64(c.startSector*targets.SectorSize)); err != nil {
		return targets.Errorf(errnoOf(err), "Unable to read first block of metadata")
	}
	sb := decodeSuperblock(w.img)
	if sb.magic == 0 && sb.version == 0 {
		w.format(nBlocks)
		sb = decodeSuperblock(w.img)
	}
	switch {
	case sb.magic != sbMagic:
		return targets.Invalid("Invalid magic in the superblock")
	case sb.version != sbVersion:
		return targets.Invalid("Invalid version in the superblock")
	case sb.blockBytes != c.blockBytes:
		return targets.Invalid("Block size does not match superblock")
	}
	meta, data, ok := metadataBytesFor(sb.nBlocks, bs)
	if !ok {
		return targets.Invalid("Overflow in size calculation")
	}
	if meta+data > mapBytes {
		return targets.Invalid("Memory area is too small")
	}
	w.nBlocks = sb.nBlocks
	w.metadataSectors = meta / targets.SectorSize
	w.seqCount = binary.LittleEndian.Uint64(w.img[offSeqCount:])
	w.freeHigh = (w.nBlocks*uint64(100-c.highPercent) + 50) / 100
	w.freeLow = (w.nBlocks*uint64(100-c.lowPercent) + 50) / 100
	if c.cleaner {
		w.activateCleaner()
	}
	return nil
}

// activateCleaner is activate_cleaner: writeback of everything, new writes
// around the cache, and flush_on_suspend.
func (w *Writecache) activateCleaner() {
	w.flushOnSuspend = true
	w.cleaner = true
	w.freeHigh = w.nBlocks
	w.freeLow = w.nBlocks
}

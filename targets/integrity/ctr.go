package integrity

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"math/bits"
	"strings"
	"sync"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
	"github.com/gdmsetup/gdmsetup/targets/cryptoapi"
)

// Defaults (DEFAULT_*) of the optional arguments.
const (
	defaultInterleave       = 32768
	defaultJournalFactor    = 7
	defaultSectorsPerBitLog = 15 // DEFAULT_SECTORS_PER_BITMAP_BIT 32768
	defaultBufferSectors    = 128
	defaultWatermark        = 50
	defaultCommitMs         = 10000
	defaultMaxJournal       = 131072
	defaultBitmapFlushMs    = 10000
	maxFeatureArgs          = 18
	hz                      = 250 // the oracle kernel's CONFIG_HZ: bitmap_flush_interval is kept in jiffies
)

// New is dm_integrity_ctr: <dev> <reserved sectors> <tag size|-> <mode
// J|B|D|R> <#opt args> [<opt arg>]*. Errors come in the kernel's order
// with its words. A zeroed device is formatted; a device whose first
// sectors are neither zero nor a superblock is refused.
func New(ctx *targets.Context, args []string) (targets.Target, error) {
	if len(args) <= 4 {
		return nil, targets.Invalid("Invalid argument count")
	}
	x := &Integrity{ctx: ctx, dmName: dmDiskName(ctx.DevName)}
	x.ranges.cond = sync.NewCond(&x.mu)
	c := &x.cfg
	var err error
	if x.dev, err = ctx.Open(args[0]); err != nil {
		return nil, targets.Errorf(targets.OpenErrno(err), "Device lookup failed")
	}
	var ok bool
	if c.startSector, ok = targets.ScanUint(args[1], 64); !ok {
		return nil, targets.Invalid("Invalid starting offset")
	}
	if args[2] != "-" {
		v, ok := targets.ScanUint(args[2], 32)
		if !ok || v == 0 {
			return nil, targets.Invalid("Invalid tag size")
		}
		c.tagSize = uint32(v)
	}
	switch args[3] {
	case "J", "B", "D", "R":
		c.mode = args[3][0]
	default:
		return nil, targets.Invalid("Invalid mode (expecting J, B, D, R)")
	}
	c.interleave, c.bufferSectors, c.watermark, c.commitMs = defaultInterleave, defaultBufferSectors, defaultWatermark, defaultCommitMs
	c.blockSectors, c.sectorsPerBit, c.bitmapFlushMs = 1, -1, defaultBitmapFlushMs
	as := &targets.ArgSet{Args: args[4:]}
	n, err := as.ReadArgGroup(0, maxFeatureArgs, "Invalid number of feature args")
	if err != nil {
		return nil, err
	}
	for ; n > 0; n-- {
		opt, _ := as.Shift()
		if err := x.option(opt); err != nil {
			return nil, err
		}
	}
	if err := x.setup(); err != nil {
		return nil, err
	}
	return x, nil
}

// option reads one optional argument.
func (x *Integrity) option(opt string) error {
	c := &x.cfg
	name, val, hasVal := strings.Cut(opt, ":")
	u32 := func() (uint32, bool) {
		v, ok := targets.ScanUint(val, 32)
		return uint32(v), ok && hasVal
	}
	switch name {
	case "journal_sectors":
		if v, ok := u32(); ok {
			c.journalSectors = max(v, 1)
			return nil
		}
	case "interleave_sectors":
		if v, ok := u32(); ok {
			c.interleave = v
			return nil
		}
	case "buffer_sectors":
		if v, ok := u32(); ok {
			c.bufferSectors = v
			return nil
		}
	case "journal_watermark":
		if v, ok := u32(); ok && v <= 100 {
			c.watermark = v
			return nil
		}
	case "commit_time":
		if v, ok := u32(); ok {
			c.commitMs = v
			return nil
		}
	case "meta_device":
		if !hasVal {
			break
		}
		d, err := x.ctx.Open(val)
		if err != nil {
			return targets.Errorf(targets.OpenErrno(err), "Device lookup failed")
		}
		x.metaDev, c.metaDevPath = d, val
		return nil
	case "block_size":
		if v, ok := u32(); ok {
			if v < 512 || v > maxSectorsPerBlock*512 || v&(v-1) != 0 {
				return targets.Invalid("Invalid block_size argument")
			}
			c.blockSectors = v / 512
			return nil
		}
	case "sectors_per_bit":
		if v, ok := targets.ScanUint(val, 64); ok && hasVal {
			c.sectorsPerBit = 0
			if v != 0 {
				c.sectorsPerBit = bits.Len64(v) - 1
			}
			return nil
		}
	case "bitmap_flush_interval":
		if v, ok := u32(); ok {
			c.bitmapFlushMs = jiffiesToMs(msToJiffies(v))
			return nil
		}
	case "internal_hash":
		if hasVal {
			return c.internalHash.parse(val, "Invalid internal_hash argument")
		}
	case "journal_crypt":
		if hasVal {
			return c.journalCrypt.parse(val, "Invalid journal_crypt argument")
		}
	case "journal_mac":
		if hasVal {
			return c.journalMAC.parse(val, "Invalid journal_mac argument")
		}
	}
	switch opt {
	case "recalculate":
		c.recalculate = true
	case "reset_recalculate":
		c.recalculate, c.resetRecalc = true, true
	case "allow_discards":
		c.discards = true
	case "fix_padding":
		c.fixPadding = true
	case "fix_hmac":
		c.fixHMAC = true
	case "legacy_recalculate":
		c.legacyRecalc = true
	default:
		return targets.Invalid("Invalid argument")
	}
	return nil
}

// msToJiffies and jiffiesToMs are the kernel's conversions at hz.
func msToJiffies(ms uint32) uint64 { return (uint64(ms)*hz + 999) / 1000 }
func jiffiesToMs(j uint64) uint32  { return uint32(j * 1000 / hz) }

// parse is get_alg_and_key: NAME or NAME:KEYHEX, the key an even number
// of hex digits.
func (a *algSpec) parse(val, errMsg string) error {
	*a = algSpec{set: true}
	name, key, hasKey := strings.Cut(val, ":")
	a.name = name
	if !hasKey {
		return nil
	}
	a.keyHex = key
	if len(key)&1 != 0 {
		return targets.Invalid(errMsg)
	}
	b, err := hex.DecodeString(key)
	if err != nil {
		return targets.Invalid(errMsg)
	}
	a.key = b
	return nil
}

// getMAC is get_mac: the algorithm of a, its key set.
func getMAC(a *algSpec, errAlg, errKey string) (*cryptoapi.Hash, error) {
	if !a.set {
		return nil, nil
	}
	alg, ok := cryptoapi.Lookup(a.name)
	if !ok {
		return nil, targets.Errorf(syscall.ENOENT, "%s", errAlg)
	}
	if a.key != nil {
		if e := alg.SetKey(a.key); e != 0 {
			return nil, targets.Errorf(e, "%s", errKey)
		}
	} else if alg.Keyed {
		return nil, targets.Errorf(syscall.ENOKEY, "%s", errKey)
	}
	return alg, nil
}

// setup is the rest of dm_integrity_ctr: the algorithms, the superblock
// read (or formatted), checked against the line, the layout computed.
func (x *Integrity) setup() error {
	c := &x.cfg
	g := &x.geo
	g.startSector = c.startSector
	g.dataDevSectors = uint64(x.dev.SizeBytes()) / 512
	g.metaDev = x.metaDev != nil
	if !g.metaDev {
		x.metaDev = x.dev
	}
	g.metaDevSectors = uint64(x.metaDev.SizeBytes()) / 512
	if c.journalSectors == 0 {
		c.journalSectors = uint32(min(defaultMaxJournal, g.dataDevSectors>>defaultJournalFactor))
	}
	if c.bufferSectors == 0 {
		c.bufferSectors = 1
	}
	g.log2Buf = uint(min(bits.Len32(c.bufferSectors)-1, 31-9))
	var err error
	if x.hash, err = getMAC(&c.internalHash, "Invalid internal hash", "Error setting internal hash key"); err != nil {
		return err
	}
	if x.jmac, err = getMAC(&c.journalMAC, "Invalid journal mac", "Error setting journal mac key"); err != nil {
		return err
	}
	if c.tagSize == 0 {
		if x.hash == nil {
			return targets.Invalid("Unknown tag size")
		}
		c.tagSize = uint32(x.hash.Size)
	}
	if c.tagSize > maxTagSize {
		return targets.Invalid("Too big tag size")
	}
	g.tagSize = c.tagSize
	g.log2Tag = log2Exact(uint64(c.tagSize))
	if c.mode == 'B' && x.hash == nil {
		return targets.Invalid("Bitmap mode can be only used with internal hash")
	}
	if c.discards && x.hash == nil {
		return targets.Invalid("Discard can be only used with internal hash")
	}
	x.sb = make(superblock, sbBytes)
	if _, err := x.metaDev.ReadAt(x.sb, int64(c.startSector)*512); err != nil {
		return targets.Errorf(syscall.EIO, "Error reading superblock")
	}
	if c.mode != 'R' && x.jmac != nil && x.sb.has(flagFixedHMAC) && x.sb.hasMagic() && !x.sbMACOK() {
		x.ioError("superblock mac", syscall.EILSEQ)
		return targets.Errorf(syscall.EILSEQ, "Error reading superblock")
	}
	shouldWrite := false
	if !x.sb.hasMagic() {
		if c.mode != 'R' && !bytes.Equal(x.sb, make([]byte, sbBytes)) {
			return targets.Invalid("The device is not initialized")
		}
		if !x.initializeSuperblock() {
			return targets.Invalid("Could not initialize superblock")
		}
		shouldWrite = c.mode != 'R'
	}
	if err := x.checkSuperblock(); err != nil {
		return err
	}
	if x.sb.has(flagFixedHMAC) {
		x.hmacSalt = bytes.Clone(x.sb.salt())
	}
	g.log2Block = uint(x.sb.log2Block())
	g.log2Il = uint(x.sb.log2Interleave())
	g.flags = x.sb.flags()
	g.journalSections = x.sb.journalSections()
	g.providedSectors()
	if g.provided == 0 {
		return targets.Invalid("The device is too small")
	}
	for g.deviceLimits() != nil {
		if !g.metaDev || g.log2Buf <= 3 {
			return targets.Invalid("The device is too small")
		}
		g.log2Buf--
	}
	x.log2BPB = x.bitmapBits(shouldWrite)
	if !g.metaDev {
		g.log2Buf = min(g.log2Buf, uint(bits.TrailingZeros64(g.metadataRun)))
	}
	if x.ctx.Len > g.provided {
		return targets.Invalid("Not enough provided sectors for requested mapping size")
	}
	if c.recalculate && !x.sb.has(flagRecalculating) {
		x.sb.setFlag(flagRecalculating, true)
		x.sb.setRecalcSector(0)
	}
	if x.hash == nil && x.sb.has(flagRecalculating) {
		return targets.Invalid("Recalculate can only be specified with internal_hash")
	}
	if x.sb.has(flagRecalculating) && x.sb.recalcSector() < g.provided && x.recalcDisabled() {
		return targets.Errorf(syscall.EOPNOTSUPP, "Recalculating with HMAC is disabled for security reasons - if you really need it, use the argument \"legacy_recalculate\"")
	}
	if c.mode != 'R' {
		x.j = newJournal(x)
		if c.journalCrypt.set {
			if x.j.crypt, err = newJournalCrypt(x, len(x.j.buf), x.j.sectorOff(1, 0)); err != nil {
				return err
			}
			x.j.ids = x.j.crypt.ids
		}
	}
	if c.mode == 'B' {
		x.bitmap = newBitmaps(x, x.log2BPB)
	}
	if shouldWrite {
		x.j.initSections(0, g.journalSections, 0)
		if x.failed != 0 {
			return targets.Errorf(x.failed, "Error initializing journal")
		}
		if err := x.writeSuperblock(); err != nil {
			return targets.Errorf(errnoOf(err), "Error initializing superblock")
		}
		x.justFormatted = true
	}
	x.setMaxIOSectors()
	if x.ctx.Restored {
		x.restore()
	}
	_, isFile := x.metaDev.(*targets.File)
	x.tagsRMW = !isFile
	return nil
}

// checkSuperblock compares the superblock with the line.
func (x *Integrity) checkSuperblock() error {
	sb := x.sb
	switch {
	case sb.version() == 0 || sb.version() > 5:
		return targets.Invalid("Unknown version")
	case uint32(sb.tagSize()) != x.cfg.tagSize:
		return targets.Invalid("Tag size doesn't match the information in superblock")
	case sb.log2Block() != uint8(bits.TrailingZeros32(x.cfg.blockSectors)):
		return targets.Invalid("Block size doesn't match the information in superblock")
	case sb.journalSections() == 0:
		return targets.Invalid("Corrupted superblock, journal_sections is 0")
	case !x.geo.metaDev && (sb.log2Interleave() < minLog2Interleave || sb.log2Interleave() > maxLog2Interleave),
		x.geo.metaDev && sb.log2Interleave() != 0:
		return targets.Invalid("Invalid interleave_sectors in the superblock")
	case sb.has(flagJournalMAC) != x.cfg.journalMAC.set:
		return targets.Invalid("Journal mac mismatch")
	}
	return nil
}

// bitmapBits is the bitmap's granularity: sectors_per_bit (at least a
// block), raised until the journal area holds the bitmap; a superblock
// being written takes it. It returns log2 blocks per bit.
func (x *Integrity) bitmapBits(shouldWrite bool) uint {
	g := &x.geo
	l := x.cfg.sectorsPerBit
	if l < 0 {
		l = defaultSectorsPerBitLog
	}
	l = max(l, int(g.log2Block))
	bitsInJournal := (uint64(g.sectionSectors) * uint64(g.journalSections)) << (9 + 3)
	bitsInJournal = min(bitsInJournal, 1<<32-1)
	for bitsInJournal < (g.provided+1<<uint(l)-1)>>uint(l) {
		l++
	}
	b := uint(l) - g.log2Block
	if shouldWrite {
		x.sb[offLog2BitmapBit] = uint8(b)
	}
	return b
}

// initializeSuperblock is initialize_superblock: a new superblock for
// the line and the device sizes; false when the device is too small.
func (x *Integrity) initializeSuperblock() bool {
	c := &x.cfg
	g := &x.geo
	sb := x.sb
	clear(sb)
	copy(sb, sbMagic)
	sb[offTagSize], sb[offTagSize+1] = byte(c.tagSize), byte(c.tagSize>>8)
	sb[offLog2Block] = uint8(bits.TrailingZeros32(c.blockSectors))
	g.log2Block = uint(sb.log2Block())
	g.tagSize = c.tagSize
	if c.journalMAC.set {
		sb.setFlag(flagJournalMAC, true)
	}
	g.flags = sb.flags()
	g.journalSections = 0
	g.sectionSize()
	sections := c.journalSectors / g.sectionSectors
	if sections == 0 {
		sections = 1
	}
	if c.fixHMAC && (c.internalHash.set || c.journalMAC.set) {
		sb.setFlag(flagFixedHMAC, true)
		rand.Read(sb.salt())
	}
	if !g.metaDev {
		if c.fixPadding {
			sb.setFlag(flagFixedPadding, true)
		}
		g.flags = sb.flags()
		sb.setJournalSections(sections)
		g.journalSections = sections
		il := c.interleave
		if il == 0 {
			il = defaultInterleave
		}
		l := uint8(bits.Len32(il) - 1)
		l = min(max(l, minLog2Interleave), maxLog2Interleave)
		sb[offLog2Interleave] = l
		g.log2Il = uint(l)
		g.providedSectors()
		if g.provided == 0 {
			return false
		}
	} else {
		g.flags = sb.flags()
		sb[offLog2Interleave] = 0
		g.log2Il = 0
		g.providedSectors()
		if g.provided == 0 {
			return false
		}
		for {
			var js uint32
			for bit := bits.Len32(sections) - 1; bit >= 0; bit-- {
				test := js | 1<<uint(bit)
				if test > sections {
					continue
				}
				g.journalSections = test
				if g.deviceLimits() == nil {
					js = test
				}
			}
			g.journalSections = js
			sb.setJournalSections(js)
			if js != 0 {
				break
			}
			if g.log2Buf <= 3 {
				return false
			}
			g.log2Buf--
		}
	}
	sb.setProvided(g.provided)
	sb.setVersion(c.mode == 'B', g.metaDev)
	return true
}

// recalcDisabled is dm_integrity_disable_recalculate.
func (x *Integrity) recalcDisabled() bool {
	if x.cfg.legacyRecalc {
		return false
	}
	hashKey, macKey := x.cfg.internalHash.key != nil, x.cfg.journalMAC.key != nil
	if !x.sb.has(flagFixedHMAC) {
		return hashKey || macKey
	}
	return hashKey && !macKey
}

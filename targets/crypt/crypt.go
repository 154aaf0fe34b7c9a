// Package crypt is the crypt target (drivers/md/dm-crypt.c, v1.24.0):
// `<cipher> <key> <iv_offset> <dev> <start> [<#features> <feature>...]`
// encrypts each encryption sector written to it onto dev from start on,
// and decrypts what it reads, with the kernel's ciphers, IV generators and
// key handling, so that the kernel (and cryptsetup, qemu's LUKS driver)
// read what it writes and it reads theirs.
package crypt

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Type is the crypt target's registration.
var Type = targets.Type{Name: "crypt", Version: [3]int{1, 24, 0}, New: New}

// maxKeyBytes is the largest key the kernel's context allocation takes
// (kzalloc up to KMALLOC_MAX_SIZE, 4 MiB, with the context itself).
const maxKeyBytes = 4<<20 - 4096

// Crypt is one crypt table line. The fields set by New do not change. The
// key in use is keyed, swapped whole (I/O loads it without a lock); mu
// serializes the key messages and guards suspended and keyChanged.
type Crypt struct {
	cipherString   string
	skc            *skcipher
	tfmsCount      int
	iv             *ivMode // nil: no IV
	ivBytes        int
	ivOffsetSector uint64
	dev            targets.Dev
	startSector    uint64
	lenSectors     uint64
	sectorBytes    int
	ivLargeSectors bool
	features       features
	integrity      string // "N:PROFILE" of an integrity feature, or ""

	keyed atomic.Pointer[keyedCipher]
	logf  func(format string, args ...any)

	mu         sync.Mutex
	suspended  bool // DM_CRYPT_SUSPENDED: postsuspend ran, no resume since
	keyChanged bool // a message set or wiped the table's key
}

// keyedCipher is a key and the ciphers keyed with it. It is never changed
// once published: a message builds a new one.
type keyedCipher struct {
	key   []byte // what the table shows (zeros after a wipe)
	valid bool   // DM_CRYPT_KEY_VALID
	tfms  []sectorCipher
}

// features are the optional arguments that are flags.
type features struct {
	allowDiscards, sameCPU, noOffload, noReadWorkqueue, noWriteWorkqueue bool
}

// New is crypt_ctr: the checks in the kernel's order, each failing with
// its ti->error.
func New(ctx *targets.Context, args []string) (targets.Target, error) {
	if len(args) < 5 {
		return nil, targets.Invalid("Not enough arguments")
	}
	keyBytes, keyArg, ok := keySize(args[1])
	if !ok {
		return nil, targets.Invalid("Cannot parse key size")
	}
	if keyBytes > maxKeyBytes {
		return nil, targets.Errorf(syscall.ENOMEM, "Cannot allocate encryption context")
	}
	c := &Crypt{cipherString: args[0], lenSectors: ctx.Len, sectorBytes: targets.SectorSize, logf: cryptLogf(ctx)}
	// a table rebuilt in a later process was constructed, and logged, at its load
	ctrLogf := c.logf
	if ctx.Restored {
		ctrLogf = func(string, ...any) {}
	}
	aead := false
	if len(args) > 5 {
		var err error
		if aead, err = c.parseFeatures(args[5:]); err != nil {
			return nil, err
		}
	}
	spec, err := parseCipherSpec(args[0], aead)
	if err != nil {
		return nil, err
	}
	if aead {
		return nil, errAEAD
	}
	if c.skc, err = spec.allocate(); err != nil {
		return nil, err
	}
	c.tfmsCount = spec.tfmsCount
	if err := c.setIVMode(spec.ivMode, ctrLogf); err != nil {
		return nil, err
	}
	k, e := c.setKey(&keyedCipher{key: make([]byte, keyBytes)}, keyArg)
	if e != 0 {
		return nil, targets.Errorf(e, "Error decoding and setting key")
	}
	if err := c.checkIV(); err != nil {
		return nil, err
	}
	ivOff, ok := targets.ScanUint(args[2], 64)
	if !ok || ivOff&uint64(c.sectorBytes/targets.SectorSize-1) != 0 {
		return nil, targets.Invalid("Invalid iv_offset sector")
	}
	c.ivOffsetSector = ivOff
	dev, err := ctx.Open(args[3])
	if err != nil {
		return nil, targets.Errorf(targets.OpenErrno(err), "Device lookup failed")
	}
	c.dev = dev
	if c.startSector, ok = targets.ScanUint(args[4], 64); !ok {
		return nil, targets.Invalid("Invalid device sector")
	}
	if c.iv != nil && c.iv.name == "random" {
		return nil, errAEAD
	}
	if ctx.Saved != "" {
		if k, err = c.restoreKey(ctx.Saved); err != nil {
			return nil, err
		}
		c.keyChanged = true
	}
	c.keyed.Store(k)
	c.suspended = ctx.Restored && ctx.Suspended && !ctx.Inactive
	return c, nil
}

// cryptLogf logs a line as dm-crypt's DMERR and DMWARN do: 6.1's
// dm-crypt.c includes keys/trusted-type.h, whose pr_fmt puts
// "trusted_key: " before the usual "device-mapper: crypt: ".
func cryptLogf(ctx *targets.Context) func(format string, args ...any) {
	return func(format string, args ...any) {
		if ctx.Printk != nil {
			ctx.Printk("trusted_key: device-mapper: crypt: " + fmt.Sprintf(format, args...))
		}
	}
}

// parseFeatures is crypt_ctr_optional (read before the cipher); it
// reports whether an integrity feature asks for an AEAD.
func (c *Crypt) parseFeatures(args []string) (aead bool, err error) {
	as := targets.ArgSet{Args: args}
	n, err := as.ReadArgGroup(0, 8, "Invalid number of feature args")
	if err != nil {
		return false, err
	}
	for ; n > 0; n-- {
		opt, ok := as.Shift()
		if !ok {
			return false, targets.Invalid("Not enough feature arguments")
		}
		switch {
		case strings.EqualFold(opt, "allow_discards"):
			c.features.allowDiscards = true
		case strings.EqualFold(opt, "same_cpu_crypt"):
			c.features.sameCPU = true
		case strings.EqualFold(opt, "submit_from_crypt_cpus"):
			c.features.noOffload = true
		case strings.EqualFold(opt, "no_read_workqueue"):
			c.features.noReadWorkqueue = true
		case strings.EqualFold(opt, "no_write_workqueue"):
			c.features.noWriteWorkqueue = true
		case strings.HasPrefix(opt, "integrity:") && leadingDigits(opt[len("integrity:"):]) > 0:
			if aead, err = c.parseIntegrity(opt[len("integrity:"):]); err != nil {
				return false, err
			}
		case strings.HasPrefix(opt, "sector_size:") && isUint(opt[len("sector_size:"):]):
			if err := c.parseSectorSize(opt[len("sector_size:"):]); err != nil {
				return false, err
			}
		case strings.EqualFold(opt, "iv_large_sectors"):
			c.ivLargeSectors = true
		default:
			return false, targets.Invalid("Invalid feature arguments")
		}
	}
	return aead, nil
}

// parseIntegrity reads "N:PROFILE" of integrity:N:PROFILE (sscanf
// "integrity:%u:"; MAX_TAG_SIZE is 480).
func (c *Crypt) parseIntegrity(s string) (aead bool, err error) {
	d := leadingDigits(s)
	n, _ := targets.ScanUint(s[:d], 32)
	if n == 0 || n > 480 {
		return false, targets.Invalid("Invalid integrity arguments")
	}
	profile, ok := strings.CutPrefix(s[d:], ":")
	switch {
	case ok && strings.EqualFold(profile, "aead"):
		aead = true
	case !ok || !strings.EqualFold(profile, "none"):
		return false, targets.Invalid("Unknown integrity profile")
	}
	c.integrity = fmt.Sprintf("%d:%s", n, profile)
	return aead, nil
}

// parseSectorSize reads sector_size:N (sscanf "%hu%c": the value wraps at
// 16 bits) and checks it, and the target's length, against it.
func (c *Crypt) parseSectorSize(s string) error {
	n, _ := targets.ScanUint(s, 16)
	if n < targets.SectorSize || n > 4096 || n&(n-1) != 0 {
		return targets.Invalid("Invalid feature value for sector_size")
	}
	if c.lenSectors&(n/targets.SectorSize-1) != 0 {
		return targets.Invalid("Device size is not multiple of sector_size feature")
	}
	c.sectorBytes = int(n)
	return nil
}

func leadingDigits(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

func isUint(s string) bool { return s != "" && leadingDigits(s) == len(s) }

// setIVMode is crypt_ctr_ivmode: the IV size, and the generator named.
func (c *Crypt) setIVMode(name *string, logf func(string, ...any)) error {
	c.ivBytes = c.skc.ivBytes
	if c.ivBytes > 0 {
		c.ivBytes = max(c.ivBytes, 8)
	} else if name != nil {
		logf("Selected cipher does not support IVs")
		name = nil
	}
	if name == nil {
		return nil
	}
	if *name == "random" {
		c.iv = &ivMode{name: "random"}
		return nil
	}
	if unsupportedIVModes[*name] {
		return unsupportedIV(*name)
	}
	m, ok := ivModes[*name]
	if !ok {
		return targets.Invalid("Invalid IV mode")
	}
	c.iv = &m
	return nil
}

// checkIV is the IV generators' constructors (benbi, eboiv).
func (c *Crypt) checkIV() error {
	if c.iv == nil {
		return nil
	}
	switch c.iv.name {
	case "benbi":
		bs := c.skc.blockBytes
		if bs&(bs-1) != 0 {
			return targets.Invalid("cypher blocksize is not a power of 2")
		}
		if bs > 512 {
			return targets.Invalid("cypher blocksize is > 512")
		}
	case "eboiv":
		if c.skc.blockBytes != c.ivBytes {
			return targets.Invalid("Block size of EBOIV cipher does not match IV size of block cipher")
		}
	}
	return nil
}

// setKey is crypt_set_key from cur: a new keyedCipher for the key string
// s, and the errno when it fails. A failed hex key leaves the key invalid
// with the pairs before the bad one written, as the kernel's; a keyring
// reference fails before touching anything.
func (c *Crypt) setKey(cur *keyedCipher, s string) (*keyedCipher, syscall.Errno) {
	keyBytes := len(cur.key)
	if keyBytes == 0 && s != "-" {
		return cur, syscall.EINVAL
	}
	if strings.HasPrefix(s, ":") {
		return cur, keyringErrno(s[1:])
	}
	k := &keyedCipher{key: append([]byte(nil), cur.key...)}
	if keyBytes > 0 && !hexToKey(k.key, s) {
		k.tfms = cur.tfms
		return k, syscall.EINVAL
	}
	if err := c.keyTfms(k); err != nil {
		return k, syscall.EINVAL
	}
	k.valid = true
	return k, 0
}

// keyTfms is crypt_setkey: each of the tfms keyed with its share of the key.
func (c *Crypt) keyTfms(k *keyedCipher) error {
	sub := len(k.key) / c.tfmsCount
	k.tfms = make([]sectorCipher, c.tfmsCount)
	for i := range k.tfms {
		t, err := c.skc.setKey(k.key[i*sub : (i+1)*sub])
		if err != nil {
			return err
		}
		k.tfms[i] = t
	}
	return nil
}

// Status is empty, as the kernel's.
func (c *Crypt) Status() string { return "" }

// Table is crypt_status' STATUSTYPE_TABLE: the key in lower-case hex ("-"
// when it has none), then the features in the kernel's order.
func (c *Crypt) Table() string {
	var b strings.Builder
	b.WriteString(c.cipherString)
	b.WriteByte(' ')
	if key := c.keyed.Load().key; len(key) > 0 {
		fmt.Fprintf(&b, "%x", key)
	} else {
		b.WriteByte('-')
	}
	fmt.Fprintf(&b, " %d %s %d", c.ivOffsetSector, c.dev.Name(), c.startSector)
	f := c.features
	var opts []string
	for _, o := range []struct {
		on   bool
		name string
	}{
		{f.allowDiscards, "allow_discards"}, {f.sameCPU, "same_cpu_crypt"}, {f.noOffload, "submit_from_crypt_cpus"},
		{f.noReadWorkqueue, "no_read_workqueue"}, {f.noWriteWorkqueue, "no_write_workqueue"},
		{c.integrity != "", "integrity:" + c.integrity},
		{c.sectorBytes != targets.SectorSize, fmt.Sprintf("sector_size:%d", c.sectorBytes)},
		{c.ivLargeSectors, "iv_large_sectors"},
	} {
		if o.on {
			opts = append(opts, o.name)
		}
	}
	if len(opts) > 0 {
		fmt.Fprintf(&b, " %d %s", len(opts), strings.Join(opts, " "))
	}
	return b.String()
}

// LogicalBlockBytes is crypt_io_hints' logical block size: the sector size.
func (c *Crypt) LogicalBlockBytes() int64 { return int64(c.sectorBytes) }

// Areas is the range of the device it maps onto.
func (c *Crypt) Areas() []targets.Area {
	return []targets.Area{{Dev: c.dev, StartSector: c.startSector, LenSectors: c.lenSectors}}
}

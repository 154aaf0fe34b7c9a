package integrity

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/binary"
	"hash"
	"hash/crc32"
	"strings"
	"syscall"
)

// algorithm is a keyed or unkeyed digest the kernel's crypto API gives by
// name (crypto_alloc_shash): internal_hash and journal_mac.
type algorithm struct {
	size int // digest size in bytes
	// newHash returns a fresh hash for key (nil when there is none).
	newHash func(key []byte) hash.Hash
	// keyed is an hmac: a key is required (CRYPTO_TFM_NEED_KEY).
	keyed bool
	// setKey checks a key as crypto_shash_setkey does; 0 when it takes it.
	setKey func(key []byte) syscall.Errno
}

// unkeyed are the digests Go's standard library has, by their crypto API
// names; none takes a key (shash_no_setkey: ENOSYS).
var unkeyed = map[string]func() hash.Hash{
	"md5":      md5.New,
	"sha1":     sha1.New,
	"sha224":   sha256.New224,
	"sha256":   sha256.New,
	"sha384":   sha512.New384,
	"sha512":   sha512.New,
	"sha3-224": func() hash.Hash { return sha3.New224() },
	"sha3-256": func() hash.Hash { return sha3.New256() },
	"sha3-384": func() hash.Hash { return sha3.New384() },
	"sha3-512": func() hash.Hash { return sha3.New512() },
}

// lookupAlgorithm resolves name as crypto_alloc_shash does: an algorithm
// ("sha256"), its generic driver ("sha256-generic"), or hmac(NAME) of an
// unkeyed one. Names are case-sensitive.
func lookupAlgorithm(name string) (*algorithm, bool) {
	if inner, ok := strings.CutPrefix(name, "hmac("); ok && strings.HasSuffix(inner, ")") {
		a, ok := lookupAlgorithm(inner[:len(inner)-1])
		if !ok || a.keyed || a.setKey(nil) != syscall.ENOSYS {
			return nil, false
		}
		return &algorithm{size: a.size, keyed: true,
			newHash: func(key []byte) hash.Hash { return hmac.New(func() hash.Hash { return a.newHash(nil) }, key) },
			setKey:  func([]byte) syscall.Errno { return 0 }}, true
	}
	base := strings.TrimSuffix(name, "-generic")
	switch base {
	case "crc32c":
		return crcAlgorithm(crc32.MakeTable(crc32.Castagnoli), true), true
	case "crc32":
		return crcAlgorithm(crc32.IEEETable, false), true
	}
	newHash, ok := unkeyed[base]
	if !ok {
		return nil, false
	}
	return &algorithm{size: newHash().Size(),
		newHash: func([]byte) hash.Hash { return newHash() },
		setKey:  func([]byte) syscall.Errno { return syscall.ENOSYS }}, true
}

// crcAlgorithm is the kernel's crc32c (seed ~0, inverted at the end) or
// crc32 (seed 0, not inverted) shash: the CRC stored little-endian. A key
// of 4 bytes replaces the seed.
func crcAlgorithm(tab *crc32.Table, inverted bool) *algorithm {
	return &algorithm{size: 4,
		newHash: func(key []byte) hash.Hash {
			seed := uint32(0)
			if inverted {
				seed = ^seed
			}
			if len(key) == 4 {
				seed = binary.LittleEndian.Uint32(key)
			}
			return &crcLE{tab: tab, seed: seed, crc: seed, inverted: inverted}
		},
		setKey: func(key []byte) syscall.Errno {
			if len(key) != 4 {
				return syscall.EINVAL
			}
			return 0
		}}
}

// crcLE is a raw CRC register (no inversion on the way in) whose digest is
// the register, inverted or not, little-endian.
type crcLE struct {
	tab       *crc32.Table
	seed, crc uint32
	inverted  bool
}

func (c *crcLE) Write(p []byte) (int, error) {
	// crc32.Update inverts on the way in and out: undo both
	c.crc = ^crc32.Update(^c.crc, c.tab, p)
	return len(p), nil
}

func (c *crcLE) Sum(b []byte) []byte {
	v := c.crc
	if c.inverted {
		v = ^v
	}
	return binary.LittleEndian.AppendUint32(b, v)
}

func (c *crcLE) Reset()         { c.crc = c.seed }
func (c *crcLE) Size() int      { return 4 }
func (c *crcLE) BlockSize() int { return 1 }

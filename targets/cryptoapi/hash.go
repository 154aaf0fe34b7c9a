// Package cryptoapi gives the hashes of the kernel's crypto API by name, as
// crypto_alloc_shash and crypto_alloc_ahash resolve them, with Go's
// implementations: the digests of Go's standard library, the kernel's
// crc32c and crc32 (keyed by their seed), and hmac(NAME) of those.
package cryptoapi

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"hash"
	"hash/crc32"
	"strings"
	"syscall"

	"golang.org/x/sys/cpu"
)

// Hash is a hash algorithm the kernel's crypto API has by name.
type Hash struct {
	// Driver is the cra_driver_name of the implementation the kernel
	// picks for the name on this machine.
	Driver string
	// Size is the digest size in bytes.
	Size int
	// Keyed is an hmac: it takes no input before a key (CRYPTO_TFM_NEED_KEY).
	Keyed bool
	// newHash returns a fresh hash set up with key (nil: none).
	newHash func(key []byte) hash.Hash
	// setKey is crypto_shash_setkey's check of a key: 0 when taken.
	setKey func(key []byte) syscall.Errno
}

// New returns a fresh hash set up with key (nil: none); the key must be
// one SetKey takes.
func (h *Hash) New(key []byte) hash.Hash { return h.newHash(key) }

// SetKey checks a key as crypto_shash_setkey does: 0 when the hash takes
// it, ENOSYS for a digest without keys, EINVAL for a crc's key that is not
// 4 bytes.
func (h *Hash) SetKey(key []byte) syscall.Errno { return h.setKey(key) }

// digests are the unkeyed digests of Go's standard library, by their
// crypto API names.
var digests = map[string]func() hash.Hash{
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

// acceleratedDrivers are the implementations the kernel prefers to the
// generic ones (a higher cra_priority) on this machine, by algorithm:
// crc32c-intel where the CPU has SSE4.2 (its module is loaded wherever
// crc32c is used; the sha drivers for AVX2 and SHA-NI are not, so the sha
// digests stay -generic).
var acceleratedDrivers = func() map[string]string {
	m := map[string]string{}
	if cpu.X86.HasSSE42 {
		m["crc32c"] = "crc32c-intel"
	}
	return m
}()

// Lookup resolves a name as the crypto API does: an algorithm ("sha256"),
// its generic driver ("sha256-generic"), an accelerated driver this machine
// has ("crc32c-intel"), or hmac(NAME) of an unkeyed one. Names are
// case-sensitive.
func Lookup(name string) (*Hash, bool) {
	if inner, ok := strings.CutPrefix(name, "hmac("); ok && strings.HasSuffix(inner, ")") {
		h, ok := Lookup(inner[:len(inner)-1])
		if !ok || h.Keyed || h.setKey(nil) != syscall.ENOSYS {
			return nil, false
		}
		return &Hash{Driver: "hmac(" + h.Driver + ")", Size: h.Size, Keyed: true,
			newHash: func(key []byte) hash.Hash { return hmac.New(func() hash.Hash { return h.newHash(nil) }, key) },
			setKey:  func([]byte) syscall.Errno { return 0 }}, true
	}
	base, driver := name, acceleratedDrivers[name]
	if b, ok := strings.CutSuffix(name, "-generic"); ok {
		base, driver = b, name
	}
	for b, d := range acceleratedDrivers {
		if name == d {
			base, driver = b, d
		}
	}
	if driver == "" {
		driver = base + "-generic"
	}
	switch base {
	case "crc32c":
		return crcHash(driver, crc32.MakeTable(crc32.Castagnoli), true), true
	case "crc32":
		return crcHash(driver, crc32.IEEETable, false), true
	}
	newHash, ok := digests[base]
	if !ok {
		return nil, false
	}
	return &Hash{Driver: driver, Size: newHash().Size(),
		newHash: func([]byte) hash.Hash { return newHash() },
		setKey:  func([]byte) syscall.Errno { return syscall.ENOSYS }}, true
}

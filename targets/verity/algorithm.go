package verity

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/binary"
	"hash"
	"hash/crc32"
	"strings"

	"golang.org/x/sys/cpu"
)

// algorithm is a digest the kernel's crypto API gives verity by name
// (crypto_alloc_ahash), with the implementation it logs.
type algorithm struct {
	driver string // cra_driver_name of the implementation the kernel picks
	size   int    // digest size in bytes
	// new returns a fresh hash; nil for a keyed hash (hmac), which the
	// table gives no key: crypto_ahash_init fails with ENOKEY.
	new func() hash.Hash
}

// digests are the unkeyed digests Go's standard library has, by their
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
	"crc32c":   newCRC32C,
}

// lookupAlgorithm resolves a name as crypto_alloc_ahash does: an algorithm
// name ("sha256"), its generic driver's name ("sha256-generic"), an
// accelerated driver's name ("crc32c-intel", where the machine has it), or
// hmac(NAME) of these. Names are case-sensitive.
func lookupAlgorithm(name string) (*algorithm, bool) {
	if inner, ok := strings.CutPrefix(name, "hmac("); ok && strings.HasSuffix(inner, ")") {
		a, ok := lookupAlgorithm(inner[:len(inner)-1])
		if !ok || a.new == nil {
			return nil, false
		}
		return &algorithm{driver: "hmac(" + a.driver + ")", size: a.size}, true
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
	newHash, ok := digests[base]
	if !ok {
		return nil, false
	}
	if driver == "" {
		driver = base + "-generic"
	}
	return &algorithm{driver: driver, size: newHash().Size(), new: newHash}, true
}

// acceleratedDrivers are the implementations the kernel prefers to the
// generic ones (a higher cra_priority) on this machine, by algorithm:
// crc32c-intel where the CPU has SSE4.2 (its module is loaded wherever
// crc32c is used, as in the reference kernel; the sha drivers for AVX2
// and SHA-NI are not, so the sha digests stay -generic there).
var acceleratedDrivers = func() map[string]string {
	m := map[string]string{}
	if cpu.X86.HasSSE42 {
		m["crc32c"] = "crc32c-intel"
	}
	return m
}()

// crc32cLE is the kernel's crc32c shash: the Castagnoli CRC (seed ~0,
// inverted at the end) stored little-endian, where Go's hash/crc32 stores
// it big-endian.
type crc32cLE struct{ hash.Hash32 }

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func newCRC32C() hash.Hash { return crc32cLE{crc32.New(castagnoli)} }

func (c crc32cLE) Sum(b []byte) []byte { return binary.LittleEndian.AppendUint32(b, c.Sum32()) }

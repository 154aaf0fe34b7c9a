package verity

import (
	"errors"
	"hash"
	"syscall"
)

// errNoKey is a keyed digest's failure without a key (crypto_ahash_init's
// ENOKEY).
var errNoKey = syscall.ENOKEY

// digest is verity_hash: the digest of data, salted as the format version
// says (version 1: the salt first; version 0: last), appended to dst. A
// keyed algorithm fails, with the kernel's log line.
func (v *Verity) digest(dst, data []byte) ([]byte, error) {
	if v.alg.Keyed {
		v.logf("verity: crypto_ahash_init failed: %d", -int(errNoKey))
		return nil, errNoKey
	}
	h := v.hashers.Get().(hash.Hash)
	defer v.hashers.Put(h)
	h.Reset()
	if v.version >= 1 {
		h.Write(v.salt)
	}
	h.Write(data)
	if v.version == 0 {
		h.Write(v.salt)
	}
	return h.Sum(dst), nil
}

// errnoOf is the errno err carries (EIO when none).
func errnoOf(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return syscall.EIO
}

package crypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"hash"
	"strings"
	"syscall"
)

// errKeyLength is a key the cipher refuses (crypto_skcipher_setkey's -EINVAL).
var errKeyLength = errors.New("invalid key length")

// sectorCipher is a keyed skcipher: it encrypts or decrypts one encryption
// sector (src and dst of the same length, a multiple of the block size;
// they may be the same slice) under iv, which it may change (the caller
// makes the IV anew for each sector). It holds no mutable state, so one
// value serves concurrent I/O.
type sectorCipher interface {
	encrypt(dst, src, iv []byte)
	decrypt(dst, src, iv []byte)
}

// skcipher is a symmetric cipher the kernel's crypto API offers by name
// ("cbc(aes)", "essiv(cbc(aes),sha256)"), as dm-crypt sees it before a key
// is set: crypto_skcipher_blocksize, crypto_skcipher_ivsize and setkey.
type skcipher struct {
	blockBytes int
	ivBytes    int
	// setKey keys it; errKeyLength for a key the cipher refuses.
	setKey func(key []byte) (sectorCipher, error)
}

// blockCipher is a plain cipher ("aes", "cipher_null") the modes are built on.
type blockCipher struct {
	blockBytes int
	newBlock   func(key []byte) (cipher.Block, error)
}

// blockCiphers are the plain ciphers gdmsetup has; any other name is
// -ENOENT, as a kernel without its module.
var blockCiphers = map[string]blockCipher{
	"aes": {aes.BlockSize, func(key []byte) (cipher.Block, error) {
		b, err := aes.NewCipher(key)
		if err != nil {
			return nil, errKeyLength
		}
		return b, nil
	}},
	"cipher_null": {1, func([]byte) (cipher.Block, error) { return nullBlock{}, nil }},
}

// hashes are the digests ESSIV can take its salt from.
var hashes = map[string]func() hash.Hash{
	"md5": md5.New, "sha1": sha1.New, "sha224": sha256.New224, "sha256": sha256.New,
	"sha384": sha512.New384, "sha512": sha512.New,
}

// lookupSkcipher is crypto_alloc_skcipher(name): the cipher, or the errno
// the kernel's allocation fails with (ENOENT for a name it does not know,
// EINVAL for a template that refuses its argument).
func lookupSkcipher(name string) (*skcipher, syscall.Errno) {
	tmpl, args, ok := splitTemplate(name)
	if !ok {
		return nil, syscall.ENOENT
	}
	if tmpl == "essiv" {
		return lookupESSIV(args)
	}
	bc, known := blockCiphers[args]
	if !known {
		return nil, syscall.ENOENT
	}
	switch tmpl {
	case "ecb":
		return &skcipher{blockBytes: bc.blockBytes, setKey: func(key []byte) (sectorCipher, error) {
			b, err := bc.newBlock(key)
			if err != nil {
				return nil, err
			}
			return ecbMode{b}, nil
		}}, 0
	case "cbc":
		return &skcipher{blockBytes: bc.blockBytes, ivBytes: bc.blockBytes, setKey: func(key []byte) (sectorCipher, error) {
			b, err := bc.newBlock(key)
			if err != nil {
				return nil, err
			}
			return cbcMode{b}, nil
		}}, 0
	case "xts":
		if bc.blockBytes != xtsBlockBytes {
			return nil, syscall.EINVAL
		}
		return &skcipher{blockBytes: xtsBlockBytes, ivBytes: xtsBlockBytes, setKey: func(key []byte) (sectorCipher, error) {
			return newXTS(key, bc.newBlock)
		}}, 0
	}
	return nil, syscall.ENOENT
}

// lookupESSIV is the essiv template, "essiv(INNER,HASH)": INNER keyed with
// the key, and its IV encrypted first with INNER's block cipher keyed with
// HASH(key) (essiv_skcipher_setkey, essiv_skcipher_crypt).
func lookupESSIV(args string) (*skcipher, syscall.Errno) {
	comma := topLevelComma(args)
	if comma < 0 {
		return nil, syscall.ENOENT
	}
	innerName, hashName := args[:comma], args[comma+1:]
	newHash, ok := hashes[hashName]
	if !ok {
		return nil, syscall.ENOENT
	}
	inner, e := lookupSkcipher(innerName)
	if e != 0 {
		return nil, e
	}
	_, cipherName, _ := splitTemplate(innerName)
	bc, ok := blockCiphers[cipherName]
	if !ok || inner.ivBytes != bc.blockBytes {
		return nil, syscall.EINVAL
	}
	return &skcipher{blockBytes: inner.blockBytes, ivBytes: inner.ivBytes, setKey: func(key []byte) (sectorCipher, error) {
		c, err := inner.setKey(key)
		if err != nil {
			return nil, err
		}
		h := newHash()
		h.Write(key)
		salt, err := bc.newBlock(h.Sum(nil))
		if err != nil {
			return nil, err
		}
		return essivMode{inner: c, salt: salt}, nil
	}}, 0
}

// splitTemplate splits "tmpl(args)" into tmpl and args.
func splitTemplate(name string) (tmpl, args string, ok bool) {
	open := strings.IndexByte(name, '(')
	if open <= 0 || !strings.HasSuffix(name, ")") {
		return "", "", false
	}
	return name[:open], name[open+1 : len(name)-1], true
}

// topLevelComma is the index of the first comma outside parentheses, or -1.
func topLevelComma(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// nullBlock is cipher_null: a one-byte block that encryption leaves as it is.
type nullBlock struct{}

func (nullBlock) BlockSize() int          { return 1 }
func (nullBlock) Encrypt(dst, src []byte) { copy(dst, src) }
func (nullBlock) Decrypt(dst, src []byte) { copy(dst, src) }

// ecbMode encrypts each block on its own; it takes no IV.
type ecbMode struct{ b cipher.Block }

func (m ecbMode) encrypt(dst, src, _ []byte) { eachBlock(m.b, dst, src, m.b.Encrypt) }
func (m ecbMode) decrypt(dst, src, _ []byte) { eachBlock(m.b, dst, src, m.b.Decrypt) }

func eachBlock(b cipher.Block, dst, src []byte, f func(dst, src []byte)) {
	n := b.BlockSize()
	for off := 0; off < len(src); off += n {
		f(dst[off:off+n], src[off:off+n])
	}
}

// cbcMode chains blocks from the IV.
type cbcMode struct{ b cipher.Block }

func (m cbcMode) encrypt(dst, src, iv []byte) {
	cipher.NewCBCEncrypter(m.b, iv[:m.b.BlockSize()]).CryptBlocks(dst, src)
}

func (m cbcMode) decrypt(dst, src, iv []byte) {
	cipher.NewCBCDecrypter(m.b, iv[:m.b.BlockSize()]).CryptBlocks(dst, src)
}

// essivMode encrypts the IV with the salt cipher, then runs the inner mode.
type essivMode struct {
	inner sectorCipher
	salt  cipher.Block
}

func (m essivMode) encrypt(dst, src, iv []byte) {
	m.salt.Encrypt(iv, iv)
	m.inner.encrypt(dst, src, iv)
}

func (m essivMode) decrypt(dst, src, iv []byte) {
	m.salt.Encrypt(iv, iv)
	m.inner.decrypt(dst, src, iv)
}

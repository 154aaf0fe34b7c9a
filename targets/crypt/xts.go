package crypt

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
)

// xtsBlockBytes is XTS's block size: it needs a 128-bit block cipher.
const xtsBlockBytes = 16

// xtsMode is XTS (IEEE P1619) over a 128-bit block cipher, with the whole
// 16-byte IV as the tweak, as the kernel's xts template takes it (so that
// any IV generator works under it, not only plain64). Encryption sectors
// are whole blocks, so there is no ciphertext stealing. It holds no
// mutable state.
type xtsMode struct {
	data, tweak cipher.Block
}

// newXTS splits key in two halves, the data key and the tweak key, as
// xts_setkey does; newBlock keys one half.
func newXTS(key []byte, newBlock func([]byte) (cipher.Block, error)) (*xtsMode, error) {
	if len(key)%2 != 0 {
		return nil, errKeyLength
	}
	data, err := newBlock(key[:len(key)/2])
	if err != nil {
		return nil, err
	}
	tweak, err := newBlock(key[len(key)/2:])
	if err != nil {
		return nil, err
	}
	return &xtsMode{data: data, tweak: tweak}, nil
}

// maxSectorBytes is the largest encryption sector (sector_size:4096).
const maxSectorBytes = 4096

func (x *xtsMode) encrypt(dst, src, iv []byte) { x.crypt(dst, src, iv, x.data.Encrypt) }
func (x *xtsMode) decrypt(dst, src, iv []byte) { x.crypt(dst, src, iv, x.data.Decrypt) }

// crypt is f(P xor T) xor T for each block, T the tweaks of the sector
// (see tweaks); the XORs run over the whole sector at once.
func (x *xtsMode) crypt(dst, src, iv []byte, f func(dst, src []byte)) {
	var tb [maxSectorBytes]byte
	t := x.tweaks(tb[:len(src)], iv)
	subtle.XORBytes(dst, src, t)
	for off := 0; off < len(dst); off += xtsBlockBytes {
		b := dst[off : off+xtsBlockBytes]
		f(b, b)
	}
	subtle.XORBytes(dst, dst, t)
}

// tweaks fills t with the tweak of every block of a sector: E_tweak(iv),
// then each one multiplied by x in GF(2^128).
func (x *xtsMode) tweaks(t, iv []byte) []byte {
	var cur [xtsBlockBytes]byte
	x.tweak.Encrypt(cur[:], iv[:xtsBlockBytes])
	for off := 0; off < len(t); off += xtsBlockBytes {
		copy(t[off:], cur[:])
		mulX(&cur)
	}
	return t
}

// mulX multiplies the tweak by x in GF(2^128), little-endian, reducing by
// x^128 + x^7 + x^2 + x + 1.
func mulX(t *[xtsBlockBytes]byte) {
	lo := binary.LittleEndian.Uint64(t[:8])
	hi := binary.LittleEndian.Uint64(t[8:])
	carry := hi >> 63
	hi = hi<<1 | lo>>63
	lo = lo<<1 ^ carry*0x87
	binary.LittleEndian.PutUint64(t[:8], lo)
	binary.LittleEndian.PutUint64(t[8:], hi)
}

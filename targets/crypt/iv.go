package crypt

import (
	"encoding/binary"
	"math/bits"
)

// maxIVBytes bounds iv_size for the ciphers gdmsetup has (16-byte blocks).
const maxIVBytes = 16

// ivMode is an IV generator (dm-crypt's iv_gen_ops): gen fills iv, which
// comes zeroed and iv_size long, for the encryption sector ivSector of c
// under the key k.
type ivMode struct {
	name string
	gen  func(c *Crypt, k *keyedCipher, iv []byte, ivSector uint64)
}

// ivModes are the generators gdmsetup has, by the name the table gives.
var ivModes = map[string]ivMode{
	"plain": {"plain", func(_ *Crypt, _ *keyedCipher, iv []byte, s uint64) {
		binary.LittleEndian.PutUint32(iv, uint32(s))
	}},
	"plain64": {"plain64", func(_ *Crypt, _ *keyedCipher, iv []byte, s uint64) {
		binary.LittleEndian.PutUint64(iv, s)
	}},
	"plain64be": {"plain64be", func(_ *Crypt, _ *keyedCipher, iv []byte, s uint64) {
		binary.BigEndian.PutUint64(iv[len(iv)-8:], s)
	}},
	// essiv: the sector number; the essiv template encrypts it.
	"essiv": {"essiv", func(_ *Crypt, _ *keyedCipher, iv []byte, s uint64) {
		binary.LittleEndian.PutUint64(iv, s)
	}},
	// benbi: the big-endian count of cipher blocks before the sector, plus one.
	"benbi": {"benbi", func(c *Crypt, _ *keyedCipher, iv []byte, s uint64) {
		shift := 9 - bits.TrailingZeros(uint(c.skc.blockBytes))
		binary.BigEndian.PutUint64(iv[len(iv)-8:], s<<shift+1)
	}},
	"null": {"null", func(*Crypt, *keyedCipher, []byte, uint64) {}},
	// eboiv: the sector's byte offset encrypted with the volume's first
	// cipher (a zero block encrypted under that IV).
	"eboiv": {"eboiv", func(c *Crypt, k *keyedCipher, iv []byte, s uint64) {
		var buf, zero [maxIVBytes]byte
		binary.LittleEndian.PutUint64(buf[:], s*uint64(c.sectorBytes))
		k.tfms[0].encrypt(iv, zero[:len(iv)], buf[:len(iv)])
	}},
}

// unsupportedIVModes are the kernel's generators gdmsetup does not have.
var unsupportedIVModes = map[string]bool{"lmk": true, "tcw": true, "elephant": true}

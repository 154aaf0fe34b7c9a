package raid

import (
	"crypto/subtle"

	"github.com/gdmsetup/gdmsetup/targets/gf256"
)

// RAID6's P and Q syndromes, as lib/raid6 computes them in GF(2^8) (md's
// polynomial 0x11d, generator g = 2: package gf256): P is the xor of the
// data chunks, Q = sum over the data chunks of g^slot * D_slot.

// gfMul multiplies in GF(2^8).
func gfMul(a, b byte) byte { return gf256.Mul(a, b) }

// gfInv is the multiplicative inverse (a != 0).
func gfInv(a byte) byte { return gf256.Inv(a) }

// gfPow is g^e.
func gfPow(e int) byte { return gf256.Pow(e) }

// xorInto sets dst ^= src (as long as dst).
func xorInto(dst, src []byte) { subtle.XORBytes(dst, dst, src[:len(dst)]) }

// mulXorInto sets dst ^= c * src.
func mulXorInto(dst, src []byte, c byte) { gf256.MulXor(dst, src, c) }

// syndrome computes P and Q of the data chunks bySlot (nil: zeros), Q by
// Horner's rule from the highest slot down, as gen_syndrome does.
func syndrome(bySlot [][]byte, p, q []byte) {
	clear(p)
	clear(q)
	for s := len(bySlot) - 1; s >= 0; s-- {
		mul2(q)
		if d := bySlot[s]; d != nil {
			xorInto(p, d)
			xorInto(q, d)
		}
	}
}

// mul2 multiplies every byte of b by g = 2, eight bytes at a time.
func mul2(b []byte) { gf256.MulAlpha(b) }

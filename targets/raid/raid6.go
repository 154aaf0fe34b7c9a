package raid

import (
	"crypto/subtle"

	"github.com/gdmsetup/gdmsetup/targets/gf256"
)

// RAID6's P and Q syndromes, as lib/raid6 computes them in GF(2^8) (md's
// polynomial 0x11d, generator g = 2: package gf256): P is the xor of the
// data chunks, Q = sum over the data chunks of g^slot * D_slot.

// xorInto sets dst ^= src (as long as dst).
func xorInto(dst, src []byte) { subtle.XORBytes(dst, dst, src[:len(dst)]) }

// syndrome computes P and Q of the data chunks bySlot (nil: zeros), Q by
// Horner's rule from the highest slot down, as gen_syndrome does.
func syndrome(bySlot [][]byte, p, q []byte) {
	clear(p)
	clear(q)
	for s := len(bySlot) - 1; s >= 0; s-- {
		gf256.MulAlpha(q)
		if d := bySlot[s]; d != nil {
			xorInto(p, d)
			xorInto(q, d)
		}
	}
}

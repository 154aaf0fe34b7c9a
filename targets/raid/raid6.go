package raid

import (
	"crypto/subtle"
	"encoding/binary"
)

// GF(2^8) arithmetic with md's generator polynomial x^8+x^4+x^3+x^2+1
// (0x11d) and generator g = 2, as lib/raid6 computes the Q syndrome:
// Q = sum over the data chunks of g^slot * D_slot.

var gfExp, gfLog [256]byte

func init() {
	x := 1
	for i := range 255 {
		gfExp[i] = byte(x)
		gfLog[x] = byte(i)
		x <<= 1
		if x&0x100 != 0 {
			x ^= 0x11d
		}
	}
	gfExp[255] = gfExp[0]
}

// gfMul multiplies in GF(2^8).
func gfMul(a, b byte) byte {
	if a == 0 || b == 0 {
		return 0
	}
	return gfExp[(int(gfLog[a])+int(gfLog[b]))%255]
}

// gfInv is the multiplicative inverse (a != 0).
func gfInv(a byte) byte { return gfExp[(255-int(gfLog[a]))%255] }

// gfPow is g^e.
func gfPow(e int) byte { return gfExp[((e%255)+255)%255] }

// mulTable is the table of multiplication by c.
func mulTable(c byte) *[256]byte {
	var t [256]byte
	for i := range 256 {
		t[i] = gfMul(byte(i), c)
	}
	return &t
}

// xorInto sets dst ^= src (as long as dst).
func xorInto(dst, src []byte) { subtle.XORBytes(dst, dst, src[:len(dst)]) }

// mulXorInto sets dst ^= c * src.
func mulXorInto(dst, src []byte, c byte) {
	if c == 1 {
		xorInto(dst, src)
		return
	}
	t := mulTable(c)
	for i, v := range src {
		dst[i] ^= t[v]
	}
}

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

// mul2 multiplies every byte of b by g = 2, eight bytes at a time as
// lib/raid6's int64 code does: shift each byte left, and add the
// polynomial's 0x1d to the bytes whose top bit fell out.
func mul2(b []byte) {
	n := len(b) &^ 7
	for i := 0; i < n; i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		hi := w & 0x8080808080808080
		w = (w<<1)&0xfefefefefefefefe ^ (hi>>7)*0x1d
		binary.LittleEndian.PutUint64(b[i:], w)
	}
	for i := n; i < len(b); i++ {
		v := b[i]
		x := v << 1
		if v&0x80 != 0 {
			x ^= 0x1d
		}
		b[i] = x
	}
}

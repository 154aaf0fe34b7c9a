// Package gf256 is the Galois field GF(2^8) that lib/raid6 and
// lib/reed_solomon compute in: bytes as polynomials over GF(2) modulo
// x^8+x^4+x^3+x^2+1 (Poly, 0x11d), with alpha = x (the byte 2) generating
// the 255 non-zero elements. Addition is xor; multiplication goes through
// the log tables Exp and Log, or eight bytes at a time for the
// multiplication by alpha (MulAlpha).
package gf256

import (
	"crypto/subtle"
	"encoding/binary"
)

// Poly is the field's polynomial, x^8+x^4+x^3+x^2+1.
const Poly = 0x11d

// Order is the number of non-zero elements: logs are taken modulo Order,
// and Log writes the log of zero as Order.
const Order = 255

// Exp[i] is alpha^i for 0 <= i < Order, and Exp[Order] is 0 (alpha to the
// log of zero). Log[x] is the log of x to the base alpha (0 to Order-1)
// for x != 0, and Log[0] is Order. This is lib/reed_solomon's "index
// form": decoders that compute with logs index these directly, with
// sums of logs reduced modulo Order. Both are ints so that they do, and
// are filled once at init: callers only read them.
var Exp, Log = tables()

// tables builds Exp and Log by stepping through the powers of alpha.
func tables() (exp, log [256]int) {
	x := 1
	for i := range Order {
		exp[i] = x
		log[x] = i
		x <<= 1
		if x&0x100 != 0 {
			x ^= Poly
		}
	}
	exp[Order] = 0
	log[0] = Order
	return exp, log
}

// Mul is a*b.
func Mul(a, b byte) byte {
	if a == 0 || b == 0 {
		return 0
	}
	return byte(Exp[(Log[a]+Log[b])%Order])
}

// Inv is the multiplicative inverse of a, 1/a; Inv(0) is 0.
func Inv(a byte) byte {
	if a == 0 {
		return 0
	}
	return byte(Exp[(Order-Log[a])%Order])
}

// Pow is alpha^e for any e, negative too (alpha^-1 is Inv(2)).
func Pow(e int) byte { return byte(Exp[(e%Order+Order)%Order]) }

// mulTable sets t to the table of multiplication by c: t[x] = c*x.
func mulTable(t *[256]byte, c byte) {
	t[0] = 0
	if c == 0 {
		clear(t[:])
		return
	}
	lc := Log[c]
	for x := 1; x < 256; x++ {
		t[x] = byte(Exp[(lc+Log[x])%Order])
	}
}

// MulXor sets dst ^= c*src, byte by byte over dst (src is at least as
// long).
func MulXor(dst, src []byte, c byte) {
	switch c {
	case 0:
		return
	case 1:
		subtle.XORBytes(dst, dst, src[:len(dst)])
		return
	}
	var t [256]byte
	mulTable(&t, c)
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] ^= t[v]
	}
}

// MulAlpha multiplies every byte of b by alpha (2) in place, eight bytes
// at a time as lib/raid6's int64 code does: shift each byte left, and add
// the polynomial's low byte 0x1d to the bytes whose top bit fell out.
func MulAlpha(b []byte) {
	n := len(b) &^ 7
	for i := 0; i < n; i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		hi := w & 0x8080808080808080
		w = (w<<1)&0xfefefefefefefefe ^ (hi>>7)*(Poly&0xff)
		binary.LittleEndian.PutUint64(b[i:], w)
	}
	for i := n; i < len(b); i++ {
		v := b[i]
		x := v << 1
		if v&0x80 != 0 {
			x ^= Poly & 0xff
		}
		b[i] = x
	}
}

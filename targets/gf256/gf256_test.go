package gf256

import (
	"bytes"
	"testing"
)

// polyMul is a*b by the definition: the carry-less product of the two
// polynomials, reduced modulo Poly bit by bit.
func polyMul(a, b byte) byte {
	p := 0
	for i := range 8 {
		if b>>i&1 != 0 {
			p ^= int(a) << i
		}
	}
	for bit := 14; bit >= 8; bit-- {
		if p>>bit&1 != 0 {
			p ^= Poly << (bit - 8)
		}
	}
	return byte(p)
}

// TestTables: alpha generates the 255 non-zero elements, Exp and Log
// invert each other, and the index form's zero is Order both ways.
func TestTables(t *testing.T) {
	seen := map[int]bool{}
	x := byte(1)
	for i := range Order {
		if Exp[i] != int(x) {
			t.Fatalf("Exp[%d] = %#x, want alpha^%d = %#x", i, Exp[i], i, x)
		}
		if seen[Exp[i]] {
			t.Fatalf("Exp[%d] = %#x repeats: alpha is not primitive", i, Exp[i])
		}
		seen[Exp[i]] = true
		if Log[Exp[i]] != i {
			t.Fatalf("Log[Exp[%d]] = %d", i, Log[Exp[i]])
		}
		x = polyMul(x, 2)
	}
	if x != 1 {
		t.Fatalf("alpha^255 = %#x, want 1", x)
	}
	if Exp[Order] != 0 || Log[0] != Order {
		t.Fatalf("Exp[Order] = %d, Log[0] = %d: want 0 and %d", Exp[Order], Log[0], Order)
	}
}

// TestMulAgainstPolynomial: Mul is the polynomial product modulo Poly for
// every pair, and mulTable is Mul.
func TestMulAgainstPolynomial(t *testing.T) {
	var tab [256]byte
	for a := range 256 {
		mulTable(&tab, byte(a))
		for b := range 256 {
			want := polyMul(byte(a), byte(b))
			if got := Mul(byte(a), byte(b)); got != want {
				t.Fatalf("Mul(%#x, %#x) = %#x, want %#x", a, b, got, want)
			}
			if tab[b] != want {
				t.Fatalf("mulTable(%#x)[%#x] = %#x, want %#x", a, b, tab[b], want)
			}
		}
	}
}

// TestFieldAxioms: over all pairs and triples, multiplication commutes,
// associates, distributes over xor, has 1 as identity and 0 as absorber,
// and every non-zero element has the inverse Inv.
func TestFieldAxioms(t *testing.T) {
	for a := range 256 {
		a := byte(a)
		if Mul(a, 1) != a || Mul(a, 0) != 0 {
			t.Fatalf("%#x*1 = %#x, %#x*0 = %#x", a, Mul(a, 1), a, Mul(a, 0))
		}
		if a != 0 && Mul(a, Inv(a)) != 1 {
			t.Fatalf("%#x * Inv(%#x) = %#x, want 1", a, a, Mul(a, Inv(a)))
		}
		for b := range 256 {
			b := byte(b)
			ab := Mul(a, b)
			if ab != Mul(b, a) {
				t.Fatalf("%#x*%#x != %#x*%#x", a, b, b, a)
			}
			if a != 0 && b != 0 && ab == 0 {
				t.Fatalf("%#x*%#x = 0: zero divisor", a, b)
			}
			for c := range 256 {
				c := byte(c)
				if Mul(ab, c) != Mul(a, Mul(b, c)) {
					t.Fatalf("(%#x*%#x)*%#x != %#x*(%#x*%#x)", a, b, c, a, b, c)
				}
				if Mul(a, b^c) != ab^Mul(a, c) {
					t.Fatalf("%#x*(%#x^%#x) != %#x*%#x ^ %#x*%#x", a, b, c, a, b, a, c)
				}
			}
		}
	}
	if Inv(0) != 0 {
		t.Fatalf("Inv(0) = %#x, want 0", Inv(0))
	}
}

// TestPow: alpha^e for e of any sign is Exp modulo Order.
func TestPow(t *testing.T) {
	for e := -600; e <= 600; e++ {
		want := byte(Exp[((e%Order)+Order)%Order])
		if got := Pow(e); got != want {
			t.Fatalf("Pow(%d) = %#x, want %#x", e, got, want)
		}
		if Mul(Pow(e), Pow(-e)) != 1 {
			t.Fatalf("alpha^%d * alpha^%d != 1", e, -e)
		}
	}
}

// TestMulAlpha: the word-at-a-time multiplication by alpha is Mul(x, 2),
// over a length with a tail shorter than a word.
func TestMulAlpha(t *testing.T) {
	b := make([]byte, 3*256+5)
	for i := range b {
		b[i] = byte(i)
	}
	MulAlpha(b)
	for i, v := range b {
		if want := Mul(byte(i), 2); v != want {
			t.Fatalf("byte %d: 2*%#x = %#x, want %#x", i, byte(i), v, want)
		}
	}
}

// TestMulXor: dst ^= c*src byte by byte for every c, src longer than dst
// left unread past dst's length.
func TestMulXor(t *testing.T) {
	src := make([]byte, 300)
	dst0 := make([]byte, 256)
	for i := range src {
		src[i] = byte(i * 7)
	}
	for i := range dst0 {
		dst0[i] = byte(i ^ 0x5a)
	}
	for c := range 256 {
		dst := bytes.Clone(dst0)
		MulXor(dst, src, byte(c))
		for i := range dst {
			if want := dst0[i] ^ Mul(byte(c), src[i]); dst[i] != want {
				t.Fatalf("c %#x byte %d: %#x, want %#x", c, i, dst[i], want)
			}
		}
	}
}

func BenchmarkMulXor64K(b *testing.B) {
	src, dst := make([]byte, 64<<10), make([]byte, 64<<10)
	b.SetBytes(int64(len(dst)))
	for b.Loop() {
		MulXor(dst, src, 0x8e)
	}
}

func BenchmarkMulAlpha64K(b *testing.B) {
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		MulAlpha(buf)
	}
}

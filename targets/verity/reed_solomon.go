package verity

import (
	"errors"
	"fmt"
)

// Reed-Solomon over GF(2^8) as dm-verity's FEC uses it (the kernel's
// init_rs(8, 0x11d, 0, 1, roots)): symbols are bytes, the field is built
// on the polynomial x^8+x^4+x^3+x^2+1 (0x11d), the generator's roots are
// alpha^0 .. alpha^(roots-1) (first consecutive root 0, primitive element
// 1), and codewords are the full 255 symbols: 255-roots message bytes then
// roots parity bytes.

// rsNN is the symbols in a codeword; in index (logarithm) form it stands
// for the log of zero.
const rsNN = 255

// rsMaxRoots is the most parity bytes a FEC table takes (fec_roots 24).
const rsMaxRoots = fecRSM - fecMinRSN

// errRSUncorrectable is decode_rs8's -EBADMSG: more errors than the
// parity can locate.
var errRSUncorrectable = errors.New("uncorrectable Reed-Solomon codeword")

// gfExp[i] is alpha^i (gfExp[rsNN] is 0, alpha to the log of zero);
// gfLog[x] is the log of x (gfLog[0] is rsNN).
var gfExp, gfLog = gfTables(0x11d)

func gfTables(poly int) (exp, log [256]int) {
	log[0] = rsNN
	exp[rsNN] = 0
	x := 1
	for i := 0; i < rsNN; i++ {
		log[x] = i
		exp[i] = x
		x <<= 1
		if x&0x100 != 0 {
			x ^= poly
		}
	}
	return exp, log
}

// modNN reduces a non-negative sum of logs modulo 255.
func modNN(x int) int { return x % rsNN }

// rsCodec is one code: RS(255, 255-roots). It does not change once
// built and is safe for concurrent use.
type rsCodec struct {
	roots int
	// genLog is the generator polynomial's coefficients in index form,
	// genLog[i] the coefficient of x^i.
	genLog [rsMaxRoots + 1]int
	// synMul[i] multiplies by alpha^i, the root at which syndrome i
	// evaluates the received word.
	synMul [rsMaxRoots][256]byte
}

// newRSCodec builds the code with roots parity bytes (2 to rsMaxRoots).
func newRSCodec(roots int) (*rsCodec, error) {
	if roots < 1 || roots > rsMaxRoots {
		return nil, fmt.Errorf("reed-solomon: %d roots: want 1 to %d", roots, rsMaxRoots)
	}
	c := &rsCodec{roots: roots}
	var gen [rsMaxRoots + 1]int // polynomial form
	gen[0] = 1
	for i := 0; i < roots; i++ { // multiply by (x + alpha^i)
		gen[i+1] = 1
		for j := i; j > 0; j-- {
			if gen[j] != 0 {
				gen[j] = gen[j-1] ^ gfExp[modNN(gfLog[gen[j]]+i)]
			} else {
				gen[j] = gen[j-1]
			}
		}
		gen[0] = gfExp[modNN(gfLog[gen[0]]+i)]
	}
	for i := 0; i <= roots; i++ {
		c.genLog[i] = gfLog[gen[i]]
	}
	for i := 0; i < roots; i++ {
		for x := 1; x < 256; x++ {
			c.synMul[i][x] = byte(gfExp[modNN(gfLog[x]+i)])
		}
	}
	return c, nil
}

// msgBytes is the message length of a codeword.
func (c *rsCodec) msgBytes() int { return rsNN - c.roots }

// encode computes the parity of msg (msgBytes bytes) into par (roots
// bytes), as the kernel's encode_rs8 and libcryptsetup's encode_rs_char
// do: the remainder of msg(x)*x^roots divided by the generator.
func (c *rsCodec) encode(msg, par []byte) {
	roots := c.roots
	clear(par[:roots])
	for _, m := range msg {
		fb := gfLog[int(m^par[0])]
		copy(par, par[1:roots])
		par[roots-1] = 0
		if fb != rsNN {
			for j := 1; j < roots; j++ {
				par[j-1] ^= byte(gfExp[modNN(fb+c.genLog[roots-j])])
			}
			par[roots-1] = byte(gfExp[modNN(fb+c.genLog[0])])
		}
	}
}

// decode is the kernel's decode_rs8 over a full codeword: msg
// (msgBytes bytes) and par (roots bytes) as read, erasures the indexes in
// msg known to be wrong (at most roots). It corrects msg and par in place
// and returns the number of symbols it changed, or errRSUncorrectable
// when the errors cannot be located (msg and par then unchanged). Beyond
// the code's capacity (2*errors + erasures > roots) it may also "correct"
// to another codeword, as the kernel's does: the caller checks the result.
// The steps and their order are the kernel's (Berlekamp-Massey seeded with
// the erasure locator, Chien search, Forney, a check of the correction's
// syndromes), so that the outcome beyond capacity is the kernel's too.
func (c *rsCodec) decode(msg, par []byte, erasures []int) (int, error) {
	roots := c.roots
	if len(msg) != c.msgBytes() || len(par) < roots || len(erasures) > roots {
		return 0, fmt.Errorf("reed-solomon: decode of %d+%d bytes with %d erasures, want %d+%d and at most %d",
			len(msg), len(par), len(erasures), c.msgBytes(), roots, roots)
	}
	for _, e := range erasures {
		if e < 0 || e >= rsNN {
			return 0, fmt.Errorf("reed-solomon: erasure at %d, outside the %d-byte codeword", e, rsNN)
		}
	}
	// syndromes: the received word evaluated at each root (Horner)
	// (the roots side by side in the inner loop: independent chains)
	var synPoly [rsMaxRoots]byte
	sp, mul := synPoly[:roots], c.synMul[:roots]
	for _, word := range [2][]byte{msg, par[:roots]} {
		for _, b := range word {
			for i := range sp {
				sp[i] = mul[i][sp[i]] ^ b
			}
		}
	}
	var syn [rsMaxRoots]int
	synErr := 0
	for i, s := range sp {
		synErr |= int(s)
		syn[i] = gfLog[s]
	}
	if synErr == 0 {
		return 0, nil
	}

	// lambda starts as the erasure locator, prod(1 + X_e x) with X_e
	// the location of erasure e (polynomial form)
	var lambda, b, t [rsMaxRoots + 1]int
	lambda[0] = 1
	if len(erasures) > 0 {
		lambda[1] = gfExp[modNN(rsNN-1-erasures[0])]
		for i := 1; i < len(erasures); i++ {
			u := modNN(rsNN - 1 - erasures[i])
			for j := i + 1; j > 0; j-- {
				if tmp := gfLog[lambda[j-1]]; tmp != rsNN {
					lambda[j] ^= gfExp[modNN(u+tmp)]
				}
			}
		}
	}
	for i := 0; i <= roots; i++ {
		b[i] = gfLog[lambda[i]]
	}

	// Berlekamp-Massey: the error and erasure locator
	el := len(erasures)
	for r := len(erasures) + 1; r <= roots; r++ {
		discr := 0
		for i := 0; i < r; i++ {
			if lambda[i] != 0 && syn[r-i-1] != rsNN {
				discr ^= gfExp[modNN(gfLog[lambda[i]]+syn[r-i-1])]
			}
		}
		discr = gfLog[discr]
		if discr == rsNN {
			copy(b[1:roots+1], b[:roots])
			b[0] = rsNN
			continue
		}
		t[0] = lambda[0]
		for i := 0; i < roots; i++ {
			if b[i] != rsNN {
				t[i+1] = lambda[i+1] ^ gfExp[modNN(discr+b[i])]
			} else {
				t[i+1] = lambda[i+1]
			}
		}
		if 2*el <= r+len(erasures)-1 {
			el = r + len(erasures) - el
			for i := 0; i <= roots; i++ {
				if lambda[i] == 0 {
					b[i] = rsNN
				} else {
					b[i] = modNN(gfLog[lambda[i]] - discr + rsNN)
				}
			}
		} else {
			copy(b[1:roots+1], b[:roots])
			b[0] = rsNN
		}
		lambda = t
	}

	degLambda := 0
	for i := 0; i <= roots; i++ {
		lambda[i] = gfLog[lambda[i]]
		if lambda[i] != rsNN {
			degLambda = i
		}
	}
	if degLambda == 0 {
		return 0, errRSUncorrectable
	}

	// Chien search: the roots of lambda are the inverse error locations
	var reg, root, loc [rsMaxRoots + 1]int
	copy(reg[1:], lambda[1:roots+1])
	count := 0
	for i, k := 1, 0; i <= rsNN; i, k = i+1, modNN(k+1) {
		q := 1
		for j := degLambda; j > 0; j-- {
			if reg[j] != rsNN {
				if reg[j] += j; reg[j] >= rsNN {
					reg[j] -= rsNN
				}
				q ^= gfExp[reg[j]]
			}
		}
		if q != 0 {
			continue
		}
		root[count], loc[count] = i, k
		if count++; count == degLambda {
			break
		}
	}
	if count != degLambda {
		return 0, errRSUncorrectable
	}

	// omega = syn * lambda mod x^roots, in index form
	var omega [rsMaxRoots + 1]int
	degOmega := degLambda - 1
	for i := 0; i <= degOmega; i++ {
		tmp := 0
		for j := i; j >= 0; j-- {
			if syn[i-j] != rsNN && lambda[j] != rsNN {
				tmp ^= gfExp[modNN(syn[i-j]+lambda[j])]
			}
		}
		omega[i] = gfLog[tmp]
	}

	// Forney: the error values (b is reused for them, polynomial form)
	corrected := 0
	for j := count - 1; j >= 0; j-- {
		num1 := 0
		for i := degOmega; i >= 0; i-- {
			if omega[i] != rsNN {
				num1 ^= gfExp[modNN(omega[i]+i*root[j])]
			}
		}
		if num1 == 0 {
			b[j] = 0
			continue
		}
		num2 := gfExp[modNN(rsNN-root[j])] // root^(fcr-1), fcr 0
		den := 0
		for i := min(degLambda, roots-1) &^ 1; i >= 0; i -= 2 {
			if lambda[i+1] != rsNN {
				den ^= gfExp[modNN(lambda[i+1]+i*root[j])]
			}
		}
		b[j] = gfExp[modNN(gfLog[num1]+gfLog[num2]+rsNN-gfLog[den])]
		corrected++
	}

	// the correction must have the received word's syndromes
	for i := 0; i < roots; i++ {
		tmp := 0
		for j := 0; j < count; j++ {
			if b[j] != 0 {
				tmp ^= gfExp[modNN(gfLog[b[j]]+i*(rsNN-loc[j]-1))]
			}
		}
		if tmp != gfExp[syn[i]] {
			return 0, errRSUncorrectable
		}
	}

	msgLen := c.msgBytes()
	for i := 0; i < count; i++ {
		if loc[i] < msgLen {
			msg[loc[i]] ^= byte(b[i])
		} else {
			par[loc[i]-msgLen] ^= byte(b[i])
		}
	}
	return corrected, nil
}

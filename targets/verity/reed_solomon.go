package verity

import (
	"errors"
	"fmt"
	"sync"

	"github.com/gdmsetup/gdmsetup/targets/gf256"
)

// Reed-Solomon over GF(2^8) as dm-verity's FEC uses it (the kernel's
// init_rs(8, 0x11d, 0, 1, roots)): symbols are bytes of the field
// package gf256 builds on the polynomial x^8+x^4+x^3+x^2+1 (0x11d), the
// generator's roots are alpha^0 .. alpha^(roots-1) (first consecutive
// root 0, primitive element 1), and codewords are the full 255 symbols: 255-roots message bytes then
// roots parity bytes.

// rsNN is the symbols in a codeword, the field's non-zero elements; in
// index (logarithm) form it stands for the log of zero (gf256.Log[0]).
const rsNN = gf256.Order

// rsMaxRoots is the most parity bytes a FEC table takes (fec_roots 24).
const rsMaxRoots = fecRSM - fecMinRSN

// errRSUncorrectable is decode_rs8's -EBADMSG: more errors than the
// parity can locate.
var errRSUncorrectable = errors.New("uncorrectable Reed-Solomon codeword")

// modNN reduces a non-negative sum of logs modulo 255.
func modNN(x int) int { return x % rsNN }

// rsCodec is one code: RS(255, 255-roots). It does not change once
// built and is safe for concurrent use.
type rsCodec struct {
	roots int
	// genLog is the generator polynomial's coefficients in index form,
	// genLog[i] the coefficient of x^i.
	genLog [rsMaxRoots + 1]int
	// synWords is the uint64 words the syndromes of one codeword take
	// packed: syndrome i (the word evaluated at alpha^i) in byte i%8 of
	// word i/8.
	synWords int
	// synTab holds, for each position pos of a codeword and byte value b,
	// the packed syndromes of the word that is b at pos and zero
	// elsewhere (b*alpha^(i*(254-pos)) for syndrome i), synWords words
	// from (pos*256+b)*synWords. Syndromes being linear, a codeword's are
	// the xor of its bytes' entries, in any order: column by column over
	// many codewords at once, as FEC reads them.
	synTab []uint64
}

// rsCodecs are the codes built so far, by roots: a table of 255 roots
// builds its syndrome table once per process.
var rsCodecs [rsMaxRoots + 1]struct {
	once  sync.Once
	codec *rsCodec
}

// newRSCodec is the code with roots parity bytes (1 to rsMaxRoots), built
// on first use and shared after.
func newRSCodec(roots int) (*rsCodec, error) {
	if roots < 1 || roots > rsMaxRoots {
		return nil, fmt.Errorf("reed-solomon: %d roots: want 1 to %d", roots, rsMaxRoots)
	}
	e := &rsCodecs[roots]
	e.once.Do(func() { e.codec = buildRSCodec(roots) })
	return e.codec, nil
}

func buildRSCodec(roots int) *rsCodec {
	c := &rsCodec{roots: roots, synWords: (roots + 7) / 8}
	var gen [rsMaxRoots + 1]int // polynomial form
	gen[0] = 1
	for i := 0; i < roots; i++ { // multiply by (x + alpha^i)
		gen[i+1] = 1
		for j := i; j > 0; j-- {
			if gen[j] != 0 {
				gen[j] = gen[j-1] ^ gf256.Exp[modNN(gf256.Log[gen[j]]+i)]
			} else {
				gen[j] = gen[j-1]
			}
		}
		gen[0] = gf256.Exp[modNN(gf256.Log[gen[0]]+i)]
	}
	for i := 0; i <= roots; i++ {
		c.genLog[i] = gf256.Log[gen[i]]
	}
	c.synTab = make([]uint64, rsNN*256*c.synWords)
	for pos := 0; pos < rsNN; pos++ {
		for b := 1; b < 256; b++ {
			entry := c.synTab[(pos*256+b)*c.synWords:][:c.synWords]
			for i := 0; i < roots; i++ {
				s := gf256.Exp[modNN(gf256.Log[b]+i*(rsNN-1-pos))]
				entry[i/8] |= uint64(s) << (8 * (i % 8))
			}
		}
	}
	return c
}

// addSyndromes adds to syn, the packed syndromes of len(col) codewords
// side by side (synWords each), what col contributes: byte k of col is
// the symbol at position pos of codeword k.
func (c *rsCodec) addSyndromes(syn []uint64, pos int, col []byte) {
	tab := c.synTab[pos*256*c.synWords : (pos+1)*256*c.synWords]
	switch c.synWords {
	case 1:
		tab, syn := tab[:256], syn[:len(col)]
		for k, b := range col {
			syn[k] ^= tab[b]
		}
	case 2:
		tab, syn := tab[:512], syn[:2*len(col)]
		for k, b := range col {
			t, s := tab[2*int(b):2*int(b)+2], syn[2*k:2*k+2]
			s[0] ^= t[0]
			s[1] ^= t[1]
		}
	default:
		tab, syn := tab[:768], syn[:3*len(col)]
		for k, b := range col {
			t, s := tab[3*int(b):3*int(b)+3], syn[3*k:3*k+3]
			s[0] ^= t[0]
			s[1] ^= t[1]
			s[2] ^= t[2]
		}
	}
}

// addWord adds to syn, the packed syndromes of one codeword (synWords),
// what word contributes: its bytes are the symbols from position pos on.
func (c *rsCodec) addWord(syn []uint64, pos int, word []byte) {
	w := c.synWords
	tab := c.synTab[pos*256*w : (pos+len(word))*256*w]
	switch w {
	case 1:
		for k, b := range word {
			syn[0] ^= tab[k*256+int(b)]
		}
	case 2:
		for k, b := range word {
			t := tab[(k*256+int(b))*2:][:2]
			syn[0] ^= t[0]
			syn[1] ^= t[1]
		}
	default:
		for k, b := range word {
			t := tab[(k*256+int(b))*3:][:3]
			syn[0] ^= t[0]
			syn[1] ^= t[1]
			syn[2] ^= t[2]
		}
	}
}

// unpackSyndromes is the roots syndromes of one codeword, packed in syn
// (synWords words), as bytes into sp; whether any is not zero.
func (c *rsCodec) unpackSyndromes(sp []byte, syn []uint64) bool {
	nonzero := uint64(0)
	for _, w := range syn[:c.synWords] {
		nonzero |= w
	}
	for i := range sp[:c.roots] {
		sp[i] = byte(syn[i/8] >> (8 * (i % 8)))
	}
	return nonzero != 0
}

// msgBytes is the message length of a codeword.
func (c *rsCodec) msgBytes() int { return rsNN - c.roots }

// rsCorrection is what a decode changes in a codeword: the symbol at
// position loc[i] xor val[i], for i < n.
type rsCorrection struct {
	n   int
	loc [rsMaxRoots]int
	val [rsMaxRoots]byte
}

// checkErasures rejects erasures that decode cannot take: more than roots
// of them, or one outside the codeword.
func (c *rsCodec) checkErasures(erasures []int) error {
	if len(erasures) > c.roots {
		return fmt.Errorf("reed-solomon: %d erasures, at most %d", len(erasures), c.roots)
	}
	for _, e := range erasures {
		if e < 0 || e >= rsNN {
			return fmt.Errorf("reed-solomon: erasure at %d, outside the %d-byte codeword", e, rsNN)
		}
	}
	return nil
}

// decode is the kernel's decode_rs8 over a full codeword: msg
// (msgBytes bytes) and par (roots bytes) as read, erasures the indexes in
// msg known to be wrong (at most roots). It corrects msg and par in place
// and returns the number of symbols it changed, or errRSUncorrectable
// when the errors cannot be located (msg and par then unchanged). Beyond
// the code's capacity (2*errors + erasures > roots) it may also "correct"
// to another codeword, as the kernel's does: the caller checks the result.
func (c *rsCodec) decode(msg, par []byte, erasures []int) (int, error) {
	if len(msg) != c.msgBytes() || len(par) < c.roots {
		return 0, fmt.Errorf("reed-solomon: decode of %d+%d bytes, want %d+%d", len(msg), len(par), c.msgBytes(), c.roots)
	}
	if err := c.checkErasures(erasures); err != nil {
		return 0, err
	}
	var syn [rsMaxRoots/8 + 1]uint64
	c.addWord(syn[:], 0, msg)
	c.addWord(syn[:], len(msg), par[:c.roots])
	var sp [rsMaxRoots]byte
	if !c.unpackSyndromes(sp[:], syn[:]) {
		return 0, nil
	}
	var fix rsCorrection
	corrected, err := c.correct(sp[:c.roots], erasures, &fix)
	if err != nil {
		return 0, err
	}
	for i := 0; i < fix.n; i++ {
		if loc := fix.loc[i]; loc < len(msg) {
			msg[loc] ^= fix.val[i]
		} else {
			par[loc-len(msg)] ^= fix.val[i]
		}
	}
	return corrected, nil
}

// correct is decode_rs8 from the syndromes on: sp the received word's
// syndromes (roots bytes, not all zero), erasures as decode takes them
// (checked already). It sets fix to the symbols to change and returns how
// many of them change (a located error may have the value 0), or
// errRSUncorrectable. The steps and their order are the kernel's
// (Berlekamp-Massey seeded with the erasure locator, Chien search,
// Forney, a check of the correction's syndromes), so that the outcome
// beyond capacity is the kernel's too.
func (c *rsCodec) correct(sp []byte, erasures []int, fix *rsCorrection) (int, error) {
	roots := c.roots
	var syn [rsMaxRoots]int
	for i, s := range sp {
		syn[i] = gf256.Log[s]
	}
	if len(erasures) == 0 && roots >= 2 {
		if loc, ok := singleError(syn[:roots]); ok {
			fix.n, fix.loc[0], fix.val[0] = 1, loc, sp[0]
			return 1, nil
		}
	}

	// lambda starts as the erasure locator, prod(1 + X_e x) with X_e
	// the location of erasure e (polynomial form)
	var lambda, b, t [rsMaxRoots + 1]int
	lambda[0] = 1
	if len(erasures) > 0 {
		lambda[1] = gf256.Exp[modNN(rsNN-1-erasures[0])]
		for i := 1; i < len(erasures); i++ {
			u := modNN(rsNN - 1 - erasures[i])
			for j := i + 1; j > 0; j-- {
				if tmp := gf256.Log[lambda[j-1]]; tmp != rsNN {
					lambda[j] ^= gf256.Exp[modNN(u+tmp)]
				}
			}
		}
	}
	for i := 0; i <= roots; i++ {
		b[i] = gf256.Log[lambda[i]]
	}

	// Berlekamp-Massey: the error and erasure locator
	el := len(erasures)
	for r := len(erasures) + 1; r <= roots; r++ {
		discr := 0
		for i := 0; i < r; i++ {
			if lambda[i] != 0 && syn[r-i-1] != rsNN {
				discr ^= gf256.Exp[modNN(gf256.Log[lambda[i]]+syn[r-i-1])]
			}
		}
		discr = gf256.Log[discr]
		if discr == rsNN {
			copy(b[1:roots+1], b[:roots])
			b[0] = rsNN
			continue
		}
		t[0] = lambda[0]
		for i := 0; i < roots; i++ {
			if b[i] != rsNN {
				t[i+1] = lambda[i+1] ^ gf256.Exp[modNN(discr+b[i])]
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
					b[i] = modNN(gf256.Log[lambda[i]] - discr + rsNN)
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
		lambda[i] = gf256.Log[lambda[i]]
		if lambda[i] != rsNN {
			degLambda = i
		}
	}
	if degLambda == 0 {
		return 0, errRSUncorrectable
	}

	// Chien search: the roots of lambda are the inverse error locations.
	// Root i (1 to 255) is lambda(alpha^i) = 0, location i-1.
	var root [rsMaxRoots + 1]int
	count := 0
	if degLambda == 1 {
		// 1 + alpha^(lambda[1]+i) = 0: the one root, found directly
		root[0], fix.loc[0], count = rsNN-lambda[1], rsNN-1-lambda[1], 1
	} else {
		var reg [rsMaxRoots + 1]int
		copy(reg[1:], lambda[1:roots+1])
		for i := 1; i <= rsNN; i++ {
			q := 1
			for j := degLambda; j > 0; j-- {
				if reg[j] != rsNN {
					if reg[j] += j; reg[j] >= rsNN {
						reg[j] -= rsNN
					}
					q ^= gf256.Exp[reg[j]]
				}
			}
			if q != 0 {
				continue
			}
			root[count], fix.loc[count] = i, i-1
			if count++; count == degLambda {
				break
			}
		}
		if count != degLambda {
			return 0, errRSUncorrectable
		}
	}

	// omega = syn * lambda mod x^roots, in index form
	var omega [rsMaxRoots + 1]int
	degOmega := degLambda - 1
	for i := 0; i <= degOmega; i++ {
		tmp := 0
		for j := i; j >= 0; j-- {
			if syn[i-j] != rsNN && lambda[j] != rsNN {
				tmp ^= gf256.Exp[modNN(syn[i-j]+lambda[j])]
			}
		}
		omega[i] = gf256.Log[tmp]
	}

	// Forney: the error values
	corrected := 0
	for j := count - 1; j >= 0; j-- {
		num1 := 0
		for i := degOmega; i >= 0; i-- {
			if omega[i] != rsNN {
				num1 ^= gf256.Exp[modNN(omega[i]+i*root[j])]
			}
		}
		if num1 == 0 {
			fix.val[j] = 0
			continue
		}
		num2 := gf256.Exp[modNN(rsNN-root[j])] // root^(fcr-1), fcr 0
		den := 0
		for i := min(degLambda, roots-1) &^ 1; i >= 0; i -= 2 {
			if lambda[i+1] != rsNN {
				den ^= gf256.Exp[modNN(lambda[i+1]+i*root[j])]
			}
		}
		fix.val[j] = byte(gf256.Exp[modNN(gf256.Log[num1]+gf256.Log[num2]+rsNN-gf256.Log[den])])
		corrected++
	}

	// the correction must have the received word's syndromes
	for i := 0; i < roots; i++ {
		tmp := 0
		for j := 0; j < count; j++ {
			if fix.val[j] != 0 {
				tmp ^= gf256.Exp[modNN(gf256.Log[fix.val[j]]+i*(rsNN-fix.loc[j]-1))]
			}
		}
		if tmp != gf256.Exp[syn[i]] {
			return 0, errRSUncorrectable
		}
	}
	fix.n = count
	return corrected, nil
}

// singleError is the location of the one wrong symbol of a word whose
// syndromes (index form) are those of a single error, value e at location
// loc: syndrome i is e*X^i, X = alpha^(254-loc). Such a word is one symbol
// from a codeword and, with 2 roots or more, from no other within the
// code's capacity, so the kernel's decoder (Berlekamp-Massey without
// erasures and the rest) finds that same error: this is its result
// without the steps, for the commonest damage, one bad block in a
// codeword's rsn.
func singleError(syn []int) (loc int, ok bool) {
	if syn[0] == rsNN || syn[1] == rsNN {
		return 0, false
	}
	logX := modNN(syn[1] - syn[0] + rsNN)
	for i, s := range syn[2:] {
		if s != modNN(syn[0]+(i+2)*logX) {
			return 0, false
		}
	}
	return rsNN - 1 - logX, true
}

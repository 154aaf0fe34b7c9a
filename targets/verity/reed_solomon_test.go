package verity

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gdmsetup/gdmsetup/targets/gf256"
)

// randomCodeword is a message of random bytes and its parity.
func randomCodeword(c *rsCodec, rng *rand.Rand) (msg, par []byte) {
	msg = make([]byte, c.msgBytes())
	for i := range msg {
		msg[i] = byte(rng.UintN(256))
	}
	par = make([]byte, c.roots)
	c.encode(msg, par)
	return msg, par
}

// corrupt changes n distinct positions of the codeword (msg then par) to
// other values and returns them.
func corrupt(msg, par []byte, n int, rng *rand.Rand) []int {
	pos := rng.Perm(rsNN)[:n]
	for _, p := range pos {
		d := byte(1 + rng.UintN(255))
		if p < len(msg) {
			msg[p] ^= d
		} else {
			par[p-len(msg)] ^= d
		}
	}
	return pos
}

// TestRSRoundTrip: for every root count a FEC table takes, codewords with
// up to roots/2 errors anywhere (message or parity) decode to the original
// with the count of symbols changed; with erasures, 2*errors+erasures up
// to roots decode too, whether or not the erased symbols were wrong.
func TestRSRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for roots := 2; roots <= rsMaxRoots; roots++ {
		c, err := newRSCodec(roots)
		if err != nil {
			t.Fatal(err)
		}
		for trial := 0; trial < 40; trial++ {
			msg, par := randomCodeword(c, rng)
			gotMsg, gotPar := bytes.Clone(msg), bytes.Clone(par)
			nerr := rng.IntN(roots/2 + 1)
			corrupt(gotMsg, gotPar, nerr, rng)
			n, err := c.decode(gotMsg, gotPar, nil)
			if err != nil || n != nerr || !bytes.Equal(gotMsg, msg) || !bytes.Equal(gotPar, par) {
				t.Fatalf("roots %d, %d errors: decode %d, %v; restored %v", roots, nerr, n, err,
					bytes.Equal(gotMsg, msg) && bytes.Equal(gotPar, par))
			}

			// erasures in the message: some wrong, some right
			neras := 1 + rng.IntN(roots)
			nerr = (roots - neras) / 2
			gotMsg, gotPar = bytes.Clone(msg), bytes.Clone(par)
			perm := rng.Perm(c.msgBytes())
			eras := perm[:neras]
			wrongErased := 0
			for _, p := range eras {
				if rng.IntN(3) > 0 {
					gotMsg[p] ^= byte(1 + rng.UintN(255))
					wrongErased++
				}
			}
			for _, p := range perm[neras : neras+nerr] {
				gotMsg[p] ^= byte(1 + rng.UintN(255))
			}
			n, err = c.decode(gotMsg, gotPar, eras)
			if err != nil || n != wrongErased+nerr || !bytes.Equal(gotMsg, msg) {
				t.Fatalf("roots %d, %d erasures (%d wrong), %d errors: decode %d, %v", roots, neras, wrongErased, nerr, n, err)
			}
		}
	}
}

// TestRSBeyondCapacity: more errors than the parity corrects are reported
// uncorrectable or "corrected" into another codeword, never into the
// original, and an uncorrectable codeword is left as it was.
func TestRSBeyondCapacity(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, roots := range []int{2, 3, 8, 24} {
		c, _ := newRSCodec(roots)
		failed := 0
		for trial := 0; trial < 200; trial++ {
			msg, par := randomCodeword(c, rng)
			gotMsg, gotPar := bytes.Clone(msg), bytes.Clone(par)
			corrupt(gotMsg, gotPar, roots/2+1+rng.IntN(4), rng)
			readMsg, readPar := bytes.Clone(gotMsg), bytes.Clone(gotPar)
			_, err := c.decode(gotMsg, gotPar, nil)
			switch {
			case errors.Is(err, errRSUncorrectable):
				failed++
				if !bytes.Equal(gotMsg, readMsg) || !bytes.Equal(gotPar, readPar) {
					t.Fatalf("roots %d: an uncorrectable codeword was changed", roots)
				}
			case err != nil:
				t.Fatal(err)
			case bytes.Equal(gotMsg, msg):
				t.Fatalf("roots %d: decoded beyond capacity to the original", roots)
			default:
				check := make([]byte, roots)
				c.encode(gotMsg, check)
				if !bytes.Equal(check, gotPar[:roots]) {
					t.Fatalf("roots %d: a miscorrection that is no codeword", roots)
				}
			}
		}
		if roots > 2 && failed == 0 {
			t.Errorf("roots %d: no codeword beyond capacity was found uncorrectable", roots)
		}
	}
}

// TestRSKnownParity pins the code to fixed values: the generator of 2
// roots is (x+1)(x+alpha) = x^2 + 3x + 2, so a message of one 1 at its end
// has parity 03 02; the all-zero message has zero parity.
func TestRSKnownParity(t *testing.T) {
	c, _ := newRSCodec(2)
	msg := make([]byte, c.msgBytes())
	par := []byte{9, 9}
	c.encode(msg, par)
	if !bytes.Equal(par, []byte{0, 0}) {
		t.Fatalf("parity of zeros % x", par)
	}
	msg[len(msg)-1] = 1
	c.encode(msg, par)
	if !bytes.Equal(par, []byte{3, 2}) {
		t.Fatalf("parity of 1: % x, want 03 02", par)
	}
	if _, err := newRSCodec(25); err == nil {
		t.Fatal("25 roots accepted")
	}
	if _, err := c.decode(msg, par, []int{255}); err == nil {
		t.Fatal("an erasure past the codeword accepted")
	}
}

// FuzzRSDecode decodes fuzzed codewords with fuzzed erasures for a fuzzed
// root count: an error or a count of changed symbols, never a panic; a
// success leaves a codeword.
func FuzzRSDecode(f *testing.F) {
	f.Add(uint8(2), []byte{1, 2, 3}, []byte{0, 5})
	f.Add(uint8(24), bytes.Repeat([]byte{0xff}, 300), []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24})
	f.Fuzz(func(t *testing.T, roots uint8, word, eras []byte) {
		c, err := newRSCodec(int(roots))
		if err != nil {
			return
		}
		cw := make([]byte, rsNN)
		copy(cw, word)
		var erasures []int
		for _, e := range eras {
			erasures = append(erasures, int(e))
		}
		msg, par := cw[:c.msgBytes()], cw[c.msgBytes():]
		if _, err := c.decode(msg, par, erasures); err != nil {
			return
		}
		check := make([]byte, c.roots)
		c.encode(msg, check)
		if !bytes.Equal(check, par) {
			t.Fatalf("roots %d: a decoded word that is no codeword", roots)
		}
	})
}

// BenchmarkRSDecodeBlock decodes the codewords of one 4 KiB block (4096
// of them), each with one wrong byte, for 2 and 24 roots: the decoder's
// share of correcting a block.
func BenchmarkRSDecodeBlock(b *testing.B) {
	for _, roots := range []int{2, 24} {
		b.Run(fmt.Sprintf("roots-%d", roots), func(b *testing.B) {
			c, _ := newRSCodec(roots)
			rng := rand.New(rand.NewPCG(5, 6))
			const words = 4096
			clean := make([][]byte, words)
			for k := range clean {
				msg, par := randomCodeword(c, rng)
				clean[k] = append(msg, par...)
				clean[k][rng.IntN(c.msgBytes())] ^= 0x5a
			}
			cw := make([]byte, rsNN)
			b.SetBytes(4096)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for k := range clean {
					copy(cw, clean[k])
					if n, err := c.decode(cw[:c.msgBytes()], cw[c.msgBytes():], nil); n != 1 || err != nil {
						b.Fatal(n, err)
					}
				}
			}
		})
	}
}

// encode computes (for the tests: the decoder only reads the parity
// veritysetup wrote) the parity of msg (msgBytes bytes) into par (roots
// bytes), as the kernel's encode_rs8 and libcryptsetup's encode_rs_char
// do: the remainder of msg(x)*x^roots divided by the generator.
func (c *rsCodec) encode(msg, par []byte) {
	roots := c.roots
	clear(par[:roots])
	for _, m := range msg {
		fb := gf256.Log[int(m^par[0])]
		copy(par, par[1:roots])
		par[roots-1] = 0
		if fb != rsNN {
			for j := 1; j < roots; j++ {
				par[j-1] ^= byte(gf256.Exp[modNN(fb+c.genLog[roots-j])])
			}
			par[roots-1] = byte(gf256.Exp[modNN(fb+c.genLog[0])])
		}
	}
}

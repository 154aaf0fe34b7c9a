package verity

import (
	"bytes"
	"errors"
	"fmt"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// The layout of dm-verity's FEC (dm-verity-fec.c), as veritysetup format
// --fec-device writes it. The area the parity covers is fec_blocks
// blocks: the data blocks, then the hash device's blocks from
// hash_start_block on (the tree, then any metadata after it), then zeros
// up to rounds*rsn blocks (rsn = 255-roots, rounds = fec_blocks/rsn
// rounded up). That area is rsn columns of rounds blocks each; RS codeword
// number c (0 <= c < rounds*blockBytes) takes byte c of every column, and
// its roots parity bytes are at byte c*roots of the FEC device from
// fec_start on. So the bytes of one block are spread over blockBytes
// codewords that share no other byte of it, and those codewords read the
// block at the same position in each of the rsn columns.

// The rate limits of dm-verity-fec's DMERR_LIMIT and DMWARN_LIMIT call sites.
var fecCorrectedLimit, fecFailedLimit, fecFailedEraLimit, fecReadFailedLimit targets.RateLimit

// errFECNested is verity_fec_decode's -EIO when called again while it
// runs (fio->level): a hash block failing its check while FEC reads the
// blocks of a codeword is not corrected in turn.
var errFECNested = errors.New("FEC within FEC")

// errFECMismatch is fec_decode_rsb's -EILSEQ: the decoded block does not
// have its digest.
var errFECMismatch = fmt.Errorf("corrected block does not match its digest: %w", syscall.EILSEQ)

// fecEnabled is verity_fec_is_enabled: a FEC device was given.
func (v *Verity) fecEnabled() bool { return v.fec.dev != nil }

// fecDecode is verity_fec_decode: block n (a data block, or hash block n
// of the hash device when metadata) corrected from the parity into out
// (one block, left as it was when the correction fails), which must then
// have digest want. A first pass decodes
// without erasures; when it fails, a second marks the data blocks that
// fail their own digest as erasures. Each pass logs as the kernel does
// ("FEC %d: corrected %d errors", "failed to correct ...").
func (v *Verity) fecDecode(metadata bool, n uint64, want, out []byte) error {
	f := v.fec
	if metadata {
		n = n - v.hashStartBlock + v.dataBlocks
	}
	offBytes := n << v.dataBlockBits
	columnBytes := f.rounds << v.dataBlockBits
	rsb := offBytes % columnBytes
	column := int(offBytes / columnBytes)
	blockBytes := 1 << v.dataBlockBits
	s := &fecScratch{
		syn:       make([]uint64, blockBytes*f.codec.synWords),
		block:     make([]byte, blockBytes),
		corrected: make([]byte, blockBytes),
	}
	err := v.fecDecodeRSB(rsb, column, want, s, false)
	if err != nil {
		err = v.fecDecodeRSB(rsb, column, want, s, true)
	}
	if err == nil {
		copy(out, s.corrected)
	}
	return err
}

// fecScratch is the memory one fecDecode works in, for both its passes.
type fecScratch struct {
	// syn holds the packed syndromes of the blockBytes codewords from rsb
	// on (rsCodec.synWords each), of their message bytes only.
	syn []uint64
	// block is the block being read.
	block []byte
	// corrected is the block decoded: its bytes as read, then corrected.
	corrected []byte
}

// fecDecodeRSB is fec_decode_rsb: the blockBytes codewords from rsb on
// decoded, byte column of each (the block's position in the codeword)
// into s.corrected, then s.corrected checked against want. The codewords
// are decoded in order and the first that cannot be stops the decoding,
// as in the kernel; one whose syndromes are all zero is correct as read.
func (v *Verity) fecDecodeRSB(rsb uint64, column int, want []byte, s *fecScratch, useErasures bool) error {
	f := v.fec
	codec := f.codec
	erasures := v.fecReadBlocks(rsb, column, s, useErasures)
	rsn := codec.msgBytes()
	words := codec.synWords
	corrected := 0
	parity := fecParityReader{v: v, rsb: rsb}
	var err error
	for k := range s.corrected {
		var par [rsMaxRoots]byte
		if err := parity.read(par[:f.roots], rsb+uint64(k)); err != nil {
			return err
		}
		syn := s.syn[k*words : (k+1)*words]
		codec.addWord(syn, rsn, par[:f.roots])
		var sp [rsMaxRoots]byte
		if !codec.unpackSyndromes(sp[:], syn) {
			continue
		}
		var fix rsCorrection
		var fixed int
		if fixed, err = codec.correct(sp[:f.roots], erasures, &fix); err != nil {
			break
		}
		corrected += fixed
		for i := 0; i < fix.n; i++ {
			if fix.loc[i] == column {
				s.corrected[k] ^= fix.val[i]
			}
		}
	}
	switch {
	case err != nil && len(erasures) > 0:
		v.ratelimited(&fecFailedEraLimit, "verity-fec: %s: FEC %d: failed to correct: %d", v.dataDev.Name(), rsb, -int(fecErrno(err)))
	case err == nil && corrected > 0:
		v.ratelimited(&fecCorrectedLimit, "verity-fec: %s: FEC %d: corrected %d errors", v.dataDev.Name(), rsb, corrected)
	}
	if err != nil {
		return err
	}
	got, err := v.digest(nil, s.corrected)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		v.ratelimited(&fecFailedLimit, "verity-fec: %s: FEC %d: failed to correct (%d erasures)", v.dataDev.Name(), rsb, len(erasures))
		return errFECMismatch
	}
	return nil
}

// fecErrno is the errno the kernel's FEC returns for err: decode_rs8's
// EBADMSG for an uncorrectable codeword, else the I/O's.
func fecErrno(err error) syscall.Errno {
	if errors.Is(err, errRSUncorrectable) {
		return syscall.EBADMSG
	}
	return errnoOf(err)
}

// fecReadBlocks is fec_read_bufs: the rsn blocks of the codewords from
// rsb on read, one whole block at a time, each added to the syndromes in
// s.syn (set anew) as the symbols at its position in the codewords, and
// the block at position column kept in s.corrected. Blocks past
// fec_blocks are zeros; so are data blocks whose digest is that of zeros
// (ignore_zero_blocks) and blocks that fail to read. With useErasures it
// returns the indexes in the codeword of the data blocks that fail their
// digest, and of the blocks that fail to read, up to roots of them.
func (v *Verity) fecReadBlocks(rsb uint64, column int, s *fecScratch, useErasures bool) []int {
	f := v.fec
	clear(s.syn)
	clear(s.corrected)
	var erasures []int
	var want [maxDigestBytes]byte
	for i := 0; i < f.codec.msgBytes(); i++ {
		n := (rsb + uint64(i)*(f.rounds<<v.dataBlockBits)) >> v.dataBlockBits
		dev, onData := v.dataDev, true
		if n >= v.dataBlocks {
			n -= v.dataBlocks
			if n >= f.blocks-v.dataBlocks {
				continue
			}
			n += v.hashStartBlock
			dev, onData = v.hashDev, false
		}
		if err := v.fecReadBlock(dev, onData, n, s.block); err != nil {
			v.ratelimited(&fecReadFailedLimit, "verity-fec: %s: FEC %d: read failed (%d): %d", v.dataDev.Name(), rsb, n, -int(errnoOf(err)))
			if useErasures && len(erasures) < f.roots {
				erasures = append(erasures, i)
			}
			continue
		}
		if onData {
			if digest, isZero, err := v.hashForBlock(n, want[:0], true); err == nil {
				if isZero {
					continue
				}
				if useErasures && len(erasures) < f.roots && v.isErasure(digest, s.block) {
					erasures = append(erasures, i)
				}
			}
		}
		f.codec.addSyndromes(s.syn, i, s.block)
		if i == column {
			copy(s.corrected, s.block)
		}
	}
	return erasures
}

// fecReadBlock reads block n of dev into block: a hash block verified
// already comes from the cache, as dm-bufio serves it.
func (v *Verity) fecReadBlock(dev targets.Dev, onData bool, n uint64, block []byte) error {
	if !onData {
		if cached := v.cache.get(n); cached != nil {
			copy(block, cached)
			return nil
		}
	}
	_, err := dev.ReadAt(block, int64(n)<<v.dataBlockBits)
	return err
}

// isErasure is fec_is_erasure: whether block does not have digest want
// (a digest that cannot be computed does not make an erasure).
func (v *Verity) isErasure(want, block []byte) bool {
	var buf [maxDigestBytes]byte
	got, err := v.digest(buf[:0], block)
	return err == nil && !bytes.Equal(got, want)
}

// fecParityReader reads the parity of consecutive codewords from the
// FEC device one block at a time, as fec_read_parity does, so that a
// block that fails to read is logged when the decoding first needs it
// (and the decoding stops there, logging nothing else).
type fecParityReader struct {
	v        *Verity
	rsb      uint64
	block    []byte
	blockNum uint64 // the FEC block in block, counted from fec_start
}

// read copies the parity of codeword into par.
func (r *fecParityReader) read(par []byte, codeword uint64) error {
	f := r.v.fec
	blockBytes := uint64(1) << r.v.dataBlockBits
	for pos := codeword * uint64(f.roots); len(par) > 0; {
		n := pos / blockBytes
		if r.block == nil || r.blockNum != n {
			if r.block == nil {
				r.block = make([]byte, blockBytes)
			}
			if _, err := f.dev.ReadAt(r.block, int64((f.startBlock+n)<<r.v.dataBlockBits)); err != nil {
				r.v.logf("verity-fec: %s: FEC %d: parity read failed (block %d): %d", r.v.dataDev.Name(), r.rsb, n, -int(errnoOf(err)))
				r.block = nil
				return fmt.Errorf("verity: FEC parity block %d of %s: %w", f.startBlock+n, f.dev.Name(), err)
			}
			r.blockNum = n
		}
		c := copy(par, r.block[pos%blockBytes:])
		par, pos = par[c:], pos+uint64(c)
	}
	return nil
}

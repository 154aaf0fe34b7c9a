// Package bitset implements the kernel's dm-bitset: a persistent bitset
// stored as a dm-array of little-endian u64 words (bit i is bit i%64 of word
// i/64), with the kernel's one-word write-back cache (set/clear bits, then
// Flush).
package bitset

import (
	"encoding/binary"
	"fmt"

	"github.com/gdmsetup/gdmsetup/pdata/array"
	"github.com/gdmsetup/gdmsetup/pdata/btree"
	"github.com/gdmsetup/gdmsetup/pdata/transaction"
)

// BitsPerWord is the number of bits per array element.
const BitsPerWord = 64

// Bitset is a persistent bitset (the kernel's dm_disk_bitset): it caches
// one word; changes to it are written by Flush or when another word is
// touched.
//
// Concurrency: not safe for concurrent use.
type Bitset struct {
	array    *array.Info
	curIndex uint64
	curBits  uint64
	curSet   bool
	dirty    bool
}

// New returns a Bitset whose array lives in tm.
func New(tm *transaction.Manager) *Bitset {
	return &Bitset{array: array.NewInfo(tm, btree.ValueType{Size: 8})}
}

// Array returns the underlying array info.
func (s *Bitset) Array() *array.Info { return s.array }

// NrWords returns the number of words holding nrBits bits.
func NrWords(nrBits uint64) uint64 {
	n := nrBits / BitsPerWord
	if nrBits%BitsPerWord != 0 {
		n++ // without nrBits+63, which wraps for counts near 2^64 (damaged metadata)
	}
	return n
}

// Empty creates an empty bitset and returns its root.
func (s *Bitset) Empty() (uint64, error) { return s.array.Empty() }

// Del drops the bitset at root.
func (s *Bitset) Del(root uint64) error {
	s.curSet, s.dirty = false, false
	return s.array.Del(root)
}

// Resize changes the bitset from oldBits to newBits; new words (including
// their bits past newBits) are all ones when value is set, else zeroes.
// Flush first if bits were changed.
func (s *Bitset) Resize(root uint64, oldBits, newBits uint64, value bool) (uint64, error) {
	var w [8]byte
	if value {
		binary.LittleEndian.PutUint64(w[:], ^uint64(0))
	}
	s.curSet, s.dirty = false, false
	return s.array.Resize(root, NrWords(oldBits), NrWords(newBits), w[:])
}

// Flush writes the cached word back if it changed and returns the new root.
func (s *Bitset) Flush(root uint64) (uint64, error) {
	if !s.curSet || !s.dirty {
		return root, nil
	}
	var w [8]byte
	binary.LittleEndian.PutUint64(w[:], s.curBits)
	newRoot, err := s.array.Set(root, s.curIndex, w[:])
	if err != nil {
		return root, fmt.Errorf("bitset flush word %d: %w", s.curIndex, err)
	}
	s.curSet, s.dirty = false, false
	return newRoot, nil
}

// word makes the word holding bit current, flushing the previous one.
func (s *Bitset) word(root, bit uint64) (uint64, error) {
	idx := bit / BitsPerWord
	if s.curSet && s.curIndex == idx {
		return root, nil
	}
	root, err := s.Flush(root)
	if err != nil {
		return root, err
	}
	var w [8]byte
	if err := s.array.Get(root, idx, w[:]); err != nil {
		return root, fmt.Errorf("bitset bit %d: %w", bit, err)
	}
	s.curIndex, s.curBits, s.curSet, s.dirty = idx, binary.LittleEndian.Uint64(w[:]), true, false
	return root, nil
}

// SetBit sets bit and returns the (possibly new) root.
func (s *Bitset) SetBit(root, bit uint64) (uint64, error) {
	root, err := s.word(root, bit)
	if err != nil {
		return root, err
	}
	s.curBits |= 1 << (bit % BitsPerWord)
	s.dirty = true
	return root, nil
}

// ClearBit clears bit and returns the (possibly new) root.
func (s *Bitset) ClearBit(root, bit uint64) (uint64, error) {
	root, err := s.word(root, bit)
	if err != nil {
		return root, err
	}
	s.curBits &^= 1 << (bit % BitsPerWord)
	s.dirty = true
	return root, nil
}

// TestBit reports whether bit is set and returns the (possibly new) root.
func (s *Bitset) TestBit(root, bit uint64) (bool, uint64, error) {
	root, err := s.word(root, bit)
	if err != nil {
		return false, root, err
	}
	return s.curBits&(1<<(bit%BitsPerWord)) != 0, root, nil
}

// Walk calls fn for each of the first nrBits bits in order (flush first).
func (s *Bitset) Walk(root, nrBits uint64, fn func(bit uint64, set bool) error) error {
	return s.array.Walk(root, func(index uint64, v []byte) error {
		w := binary.LittleEndian.Uint64(v)
		for i := uint64(0); i < BitsPerWord; i++ {
			bit := index*BitsPerWord + i
			if bit >= nrBits {
				return nil
			}
			if err := fn(bit, w&(1<<i) != 0); err != nil {
				return err
			}
		}
		return nil
	})
}

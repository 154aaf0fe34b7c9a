package bitset

import (
	"encoding/binary"

	"github.com/gdmsetup/gdmsetup/pdata/array"
)

// Cursor iterates over the bits of a bitset (the kernel's
// dm_bitset_cursor); Flush the Bitset first so the array is current.
type Cursor struct {
	words  *array.Cursor
	nrBits uint64
	bit    uint64
	word   uint64
}

// NewCursor positions a cursor on bit 0 of the bitset at root holding nrBits bits.
func (s *Bitset) NewCursor(root, nrBits uint64) (*Cursor, error) {
	wc, err := s.array.NewCursor(root, NrWords(nrBits))
	if err != nil {
		return nil, err
	}
	c := &Cursor{words: wc, nrBits: nrBits}
	if wc.Valid() {
		c.word = binary.LittleEndian.Uint64(wc.Value())
	}
	return c, nil
}

// Valid reports whether the cursor is on a bit.
func (c *Cursor) Valid() bool { return c.bit < c.nrBits }

// Bit returns the current bit's index.
func (c *Cursor) Bit() uint64 { return c.bit }

// Value reports whether the current bit is set.
func (c *Cursor) Value() bool { return c.word&(1<<(c.bit%BitsPerWord)) != 0 }

// Next moves to the following bit.
func (c *Cursor) Next() error { return c.Skip(1) }

// Skip moves n bits forward.
func (c *Cursor) Skip(n uint64) error {
	oldWord := c.bit / BitsPerWord
	c.bit = min(c.bit+n, c.nrBits)
	if !c.Valid() {
		return nil
	}
	if w := c.bit / BitsPerWord; w != oldWord {
		if err := c.words.Skip(w - oldWord); err != nil {
			return err
		}
		c.word = binary.LittleEndian.Uint64(c.words.Value())
	}
	return nil
}

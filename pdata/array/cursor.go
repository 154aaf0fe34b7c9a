package array

import "fmt"

// Cursor iterates over an array's elements in index order, one array block
// in memory at a time (the kernel's dm_array_cursor). It reads through the
// transaction manager and holds no lock between calls.
type Cursor struct {
	info     *Info
	root     uint64
	size     uint64 // number of elements
	index    uint64 // current element
	blockIdx uint64
	values   []byte // elements of array block blockIdx
	nr       int    // elements in values
}

// NewCursor positions a cursor on element 0 of the array at root, which
// holds size elements; an array whose first block holds none fails.
func (info *Info) NewCursor(root, size uint64) (*Cursor, error) {
	c := &Cursor{info: info, root: root, size: size}
	if size == 0 {
		return c, nil
	}
	if err := c.load(0); err != nil {
		return nil, err
	}
	if c.nr == 0 {
		return nil, fmt.Errorf("array cursor: element 0 missing from array block 0 (0 entries)")
	}
	return c, nil
}

func (c *Cursor) load(blockIdx uint64) error {
	b, err := c.info.lookupBlock(c.root, blockIdx)
	if err != nil {
		return fmt.Errorf("array cursor block %d: %w", blockIdx, err)
	}
	blk, err := c.info.tree.TM.ReadLock(b, Validator)
	if err != nil {
		return err
	}
	defer c.info.tree.TM.Unlock(blk)
	a := Block(blk.Data())
	if a.ValueSize() != c.info.Value.Size {
		return fmt.Errorf("array block %d: value_size %d, want %d", b, a.ValueSize(), c.info.Value.Size)
	}
	c.nr = a.NrEntries()
	c.values = append(c.values[:0], a[HeaderSize:HeaderSize+c.nr*a.ValueSize()]...)
	c.blockIdx = blockIdx
	return nil
}

// Valid reports whether the cursor is on an element.
func (c *Cursor) Valid() bool { return c.index < c.size }

// Index returns the current element's index.
func (c *Cursor) Index() uint64 { return c.index }

// Value returns the current element (valid until the cursor moves).
func (c *Cursor) Value() []byte {
	vs := c.info.Value.Size
	off := int(c.index%uint64(c.info.max)) * vs
	return c.values[off : off+vs]
}

// Next moves to the following element.
func (c *Cursor) Next() error { return c.Skip(1) }

// Skip moves n elements forward.
func (c *Cursor) Skip(n uint64) error {
	c.index += n
	if c.index >= c.size {
		c.index = c.size
		return nil
	}
	blockIdx := c.index / uint64(c.info.max)
	if blockIdx != c.blockIdx || c.values == nil {
		if err := c.load(blockIdx); err != nil {
			return err
		}
	}
	if int(c.index%uint64(c.info.max)) >= c.nr {
		return fmt.Errorf("array cursor: element %d missing from array block %d (%d entries)", c.index, blockIdx, c.nr)
	}
	return nil
}

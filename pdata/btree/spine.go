package btree

import "github.com/gdmsetup/gdmsetup/pdata/block"

// spine holds the (at most two) write-locked nodes of a descent that shadows
// every node it visits (the kernel's shadow_spine).
type spine struct {
	info  *Info
	nodes [2]*block.Block
	count int
	root  uint64
}

// step shadows block b and makes it the current node; the previous current
// node becomes the parent.
func (s *spine) step(b uint64, level int) error {
	if s.count == 2 {
		s.info.TM.Unlock(s.nodes[0])
		s.nodes[0] = s.nodes[1]
		s.count--
	}
	blk, err := s.info.shadow(b, level)
	if err != nil {
		return err
	}
	if s.count == 0 {
		s.root = blk.Nr()
	}
	s.nodes[s.count] = blk
	s.count++
	return nil
}

func (s *spine) current() *block.Block { return s.nodes[s.count-1] }

func (s *spine) hasParent() bool { return s.count == 2 }

func (s *spine) parent() *block.Block { return s.nodes[0] }

func (s *spine) exit() {
	for i := 0; i < s.count; i++ {
		s.info.TM.Unlock(s.nodes[i])
	}
	s.count = 0
}

// shadowChild shadows child index of parent, patches the parent's pointer
// and returns the write-locked child.
func (info *Info) shadowChild(parent Node, index int, level int) (*block.Block, error) {
	blk, err := info.shadow(parent.Value64(index), level)
	if err != nil {
		return nil, err
	}
	parent.SetValue64(index, blk.Nr())
	return blk, nil
}

// shadow shadows node b of a level's tree, checks its value size and, when
// it was shared, increments what the copy points to.
func (info *Info) shadow(b uint64, level int) (*block.Block, error) {
	blk, inc, err := info.TM.Shadow(b, Validator)
	if err != nil {
		return nil, err
	}
	n := Node(blk.Data())
	err = info.checkValueSize(b, n, level)
	if err == nil && inc {
		err = info.incChildren(n, level)
	}
	if err != nil {
		info.TM.Unlock(blk)
		return nil, err
	}
	return blk, nil
}

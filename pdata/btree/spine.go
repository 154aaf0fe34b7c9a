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
func (s *spine) step(b uint64, vt ValueType) error {
	if s.count == 2 {
		s.info.TM.Unlock(s.nodes[0])
		s.nodes[0] = s.nodes[1]
		s.count--
	}
	blk, inc, err := s.info.TM.Shadow(b, Validator)
	if err != nil {
		return err
	}
	if inc {
		if err := s.info.incChildren(Node(blk.Data()), vt); err != nil {
			s.info.TM.Unlock(blk)
			return err
		}
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
func (info *Info) shadowChild(parent Node, index int, vt ValueType) (*block.Block, error) {
	blk, inc, err := info.TM.Shadow(parent.Value64(index), Validator)
	if err != nil {
		return nil, err
	}
	if inc {
		if err := info.incChildren(Node(blk.Data()), vt); err != nil {
			info.TM.Unlock(blk)
			return nil, err
		}
	}
	parent.SetValue64(index, blk.Nr())
	return blk, nil
}

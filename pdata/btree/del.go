package btree

import (
	"errors"
	"fmt"
)

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// Del drops the tree at root: a node referenced more than once is just
// decremented; otherwise its children are dropped (internal nodes: child
// nodes; upper-level leaves: subtrees; last-level leaves: Value.Dec on each
// value) and then the node itself is decremented (the kernel's dm_btree_del).
func (info *Info) Del(root uint64) error {
	info.TM.Hold()
	defer info.TM.Release()
	info.TM.Touch()
	return info.del(root, 0, 0)
}

func (info *Info) del(b uint64, level, depth int) error {
	if depth > maxDepth*info.Levels {
		return fmt.Errorf("btree node %d: %w: tree deeper than %d", b, ErrCorrupt, maxDepth)
	}
	shared, err := info.TM.IsShared(b)
	if err != nil {
		return err
	}
	if !shared {
		blk, err := info.TM.ReadLock(b, Validator)
		if err != nil {
			return err
		}
		n := Node(blk.Data())
		err = info.checkValueSize(b, n, level)
		for i := 0; i < n.NrEntries() && err == nil; i++ {
			switch {
			case !n.IsLeaf():
				err = info.del(n.Value64(i), level, depth+1)
			case level < info.Levels-1:
				err = info.del(n.Value64(i), level+1, depth+1)
			case info.Value.Dec != nil:
				err = info.Value.Dec(n.Value(i))
			}
		}
		info.TM.Unlock(blk)
		if err != nil {
			return err
		}
	}
	return info.TM.Dec(b)
}

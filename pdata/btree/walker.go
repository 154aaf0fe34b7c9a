package btree

import (
	"errors"
	"fmt"
	"io"

	"github.com/gdmsetup/gdmsetup/pdata/block"
)

// ReadNode reads block blocknr from r and validates it as a btree node
// (location, checksum, header), without any cache or locking.
func ReadNode(r io.ReaderAt, blocknr uint64, buf []byte) (Node, error) {
	if len(buf) < block.BlockSize {
		buf = make([]byte, block.BlockSize)
	}
	buf = buf[:block.BlockSize]
	if _, err := r.ReadAt(buf, int64(blocknr)*block.BlockSize); err != nil {
		return nil, fmt.Errorf("btree node %d: read: %w", blocknr, err)
	}
	if err := Validator.Check(buf, blocknr); err != nil {
		return nil, fmt.Errorf("btree node %d: %w", blocknr, err)
	}
	return Node(buf), nil
}

// NodeInfo describes a node met by WalkNodes.
type NodeInfo struct {
	Blocknr uint64
	Level   int // nesting level (0 = top tree)
	Depth   int // depth within its level's tree (0 = that tree's root)
	KeyLo   uint64
	KeyHi   uint64 // exclusive upper bound, valid when HasHi
	HasHi   bool
	Path    []uint64 // keys of the upper levels leading to this tree
}

// NodeVisitor is called for every node before its children. Returning
// descend=false skips the node's children (a checker uses it to walk a
// shared node once).
type NodeVisitor func(info NodeInfo, n Node) (descend bool, err error)

// ErrCorrupt is wrapped by structural damage found by WalkNodes.
var ErrCorrupt = errors.New("corrupt btree")

// WalkNodes walks a levels-deep nested tree stored on r from root, checking
// what a checker checks (validator, strictly increasing keys, keys inside
// the parent's range, non-empty internal nodes, no cycle on a path) and
// calling visit for each node. Leaves of the last level are passed to
// visit; their values are the caller's business.
func WalkNodes(r io.ReaderAt, root uint64, levels int, visit NodeVisitor) error {
	w := &rawWalker{r: r, levels: levels, visit: visit, onPath: make(map[uint64]bool)}
	return w.walk(NodeInfo{Blocknr: root}, nil)
}

type rawWalker struct {
	r      io.ReaderAt
	levels int
	visit  NodeVisitor
	onPath map[uint64]bool
}

func (w *rawWalker) walk(info NodeInfo, path []uint64) error {
	b := info.Blocknr
	if w.onPath[b] {
		return fmt.Errorf("btree node %d: %w: cycle (node is its own ancestor)", b, ErrCorrupt)
	}
	n, err := ReadNode(w.r, b, nil)
	if err != nil {
		return err
	}
	nr := n.NrEntries()
	if !n.IsLeaf() && nr == 0 {
		return fmt.Errorf("btree node %d: %w: internal node with no keys", b, ErrCorrupt)
	}
	for i := 0; i < nr; i++ {
		k := n.Key(i)
		if i > 0 && k <= n.Key(i-1) {
			return fmt.Errorf("btree node %d: %w: keys out of order at entry %d", b, ErrCorrupt, i)
		}
		if (info.Depth > 0 && k < info.KeyLo) || (info.HasHi && k >= info.KeyHi) {
			return fmt.Errorf("btree node %d: %w: key %d outside parent range", b, ErrCorrupt, k)
		}
	}
	if n.IsLeaf() && info.Level+1 < w.levels && n.ValueSize() != 8 {
		return fmt.Errorf("btree node %d: %w: upper-level leaf with value_size %d", b, ErrCorrupt, n.ValueSize())
	}
	info.Path = path
	descend, err := w.visit(info, n)
	if err != nil || !descend {
		return err
	}
	if n.IsLeaf() && info.Level+1 >= w.levels {
		return nil
	}
	w.onPath[b] = true
	defer delete(w.onPath, b)
	for i := 0; i < nr; i++ {
		child := NodeInfo{Blocknr: n.Value64(i), Level: info.Level}
		childPath := path
		if n.IsLeaf() {
			child.Level++
			childPath = append(append([]uint64(nil), path...), n.Key(i))
		} else {
			child.Depth = info.Depth + 1
			child.KeyLo = n.Key(i)
			child.KeyHi, child.HasHi = info.KeyHi, info.HasHi
			if i+1 < nr {
				child.KeyHi, child.HasHi = n.Key(i+1), true
			}
		}
		if err := w.walk(child, childPath); err != nil {
			return err
		}
	}
	return nil
}

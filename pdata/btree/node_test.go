package btree

import (
	"io"
	"maps"
	"math/rand"
	"slices"
	"testing"

	"github.com/gdmsetup/gdmsetup/pdata/block"
)

func TestCalcMaxEntries(t *testing.T) {
	for _, c := range []struct{ vs, want int }{{8, 252}, {16, 168}, {24, 126}, {4, 336}} {
		if got := CalcMaxEntries(c.vs); int(got) != c.want {
			t.Errorf("CalcMaxEntries(%d) = %d, want %d", c.vs, got, c.want)
		}
	}
}

func TestNodeRoundTrip(t *testing.T) {
	n := Node(make([]byte, block.BlockSize))
	n.Init(LeafNode, 8)
	for i := 0; i < 10; i++ {
		v := make([]byte, 8)
		v[0] = byte(i)
		n.insertAt(n.NrEntries(), uint64(i*10), v)
	}
	Validator.Prepare(n, 77)
	if err := Validator.Check(n, 77); err != nil {
		t.Fatal(err)
	}
	if err := Validator.Check(n, 78); err == nil {
		t.Fatal("wrong location accepted")
	}
	n[100] ^= 1
	if err := Validator.Check(n, 77); err == nil {
		t.Fatal("bit flip accepted")
	}
	n[100] ^= 1
	if i := n.LowerBound(55); i != 5 {
		t.Fatalf("LowerBound(55) = %d", i)
	}
	if i := n.UpperBound(55); i != 6 {
		t.Fatalf("UpperBound(55) = %d", i)
	}
	if i := n.LowerBound(0); i != 0 || n.LowerBound(^uint64(0)) != 9 {
		t.Fatal("LowerBound edges")
	}
	n.deleteAt(0)
	if n.Key(0) != 10 || n.Value(0)[0] != 1 || n.NrEntries() != 9 {
		t.Fatal("deleteAt")
	}
}

// FuzzNodeDecode feeds arbitrary node contents (with a valid checksum and
// location, so the header checks are what stands between them and the
// decoder) to the validator, the accessors and the raw walker.
func FuzzNodeDecode(f *testing.F) {
	n := Node(make([]byte, block.BlockSize))
	n.Init(LeafNode, 8)
	n.insertAt(0, 5, make([]byte, 8))
	f.Add([]byte(n[:64]))
	n.Init(InternalNode, 8)
	n.insertAt(0, 0, make([]byte, 8))
	f.Add([]byte(n[:64]))
	f.Fuzz(func(t *testing.T, data []byte) {
		img := make([]byte, 2*block.BlockSize)
		copy(img, data)
		copy(img[block.BlockSize:], data)
		for b := uint64(0); b < 2; b++ {
			Validator.Prepare(img[b*block.BlockSize:(b+1)*block.BlockSize], b)
		}
		nd := Node(img[:block.BlockSize])
		if err := Validator.Check(nd, 0); err != nil {
			return
		}
		for i := 0; i < nd.NrEntries(); i++ {
			_ = nd.Key(i)
			_ = nd.Value(i)
		}
		nd.LowerBound(7)
		for levels := 1; levels <= 2; levels++ {
			_ = WalkNodes(bytesReader(img), 0, levels, func(NodeInfo, Node) (bool, error) { return true, nil })
		}
	})
}

type bytesReader []byte

func (r bytesReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(r)) {
		return 0, io.EOF
	}
	return copy(p, r[off:]), nil
}

// TestLowerBound compares LowerBound with a linear scan on nodes whose keys
// are dense, evenly spaced, random, clustered and exponentially skewed,
// probing every key, its neighbours and the extremes.
func TestLowerBound(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	gens := map[string]func(i int) uint64{
		"dense":   func(i int) uint64 { return uint64(i) },
		"spaced":  func(i int) uint64 { return uint64(i) * 1000 },
		"random":  func(int) uint64 { return rng.Uint64() },
		"cluster": func(i int) uint64 { return uint64(i%7) << 50 },
		"skewed":  func(i int) uint64 { return 1 << (i % 64) },
		"top":     func(i int) uint64 { return ^uint64(0) - uint64(rng.Intn(1000)) },
	}
	n := Node(make([]byte, block.BlockSize))
	for name, gen := range gens {
		for _, nr := range []int{1, 2, 3, 5, 50, 252} {
			set := make(map[uint64]bool)
			for i := 0; len(set) < nr && i < 100*nr; i++ {
				set[gen(i)+uint64(i/64)] = true
			}
			keys := slices.Sorted(maps.Keys(set))
			n.Init(LeafNode, 8)
			for i, k := range keys {
				n.insertAt(i, k, make([]byte, 8))
			}
			probes := []uint64{0, 1, ^uint64(0), ^uint64(0) - 1}
			for _, k := range keys {
				probes = append(probes, k, k-1, k+1, rng.Uint64())
			}
			for _, p := range probes {
				want := -1
				for i, k := range keys {
					if k <= p {
						want = i
					}
				}
				if got := n.LowerBound(p); got != want {
					t.Fatalf("%s/%d: LowerBound(%d) = %d, want %d", name, nr, p, got, want)
				}
			}
		}
	}
}

package btree_test

import (
	"encoding/binary"
	"math/rand"
	"os"
	"testing"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/pdata/btree"
	"github.com/gdmsetup/gdmsetup/pdata/spacemap"
	"github.com/gdmsetup/gdmsetup/pdata/transaction"
)

const (
	benchKeys     = 1_000_000
	benchBatch    = 10_000
	benchMetaBlks = 64 * 1024 // 256 MiB of metadata
	benchCache    = 4096      // 16 MiB block cache
)

// benchTree formats a metadata file (on /dev/shm when present, like the
// bbolt baseline's storage=shm) with a 1-level u64 tree.
func benchTree(b *testing.B) (*transaction.Manager, *spacemap.Metadata, btree.Info, uint64) {
	b.Helper()
	dir := b.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		dir = "/dev/shm"
	}
	f, err := os.CreateTemp(dir, "pdata-bench-*.img")
	if err != nil {
		b.Fatal(err)
	}
	os.Remove(f.Name())
	b.Cleanup(func() { f.Close() })
	if err := f.Truncate(benchMetaBlks * block.BlockSize); err != nil {
		b.Fatal(err)
	}
	bm, err := block.NewManager(&block.FileDevice{File: f}, benchCache, false)
	if err != nil {
		b.Fatal(err)
	}
	tm, msm, err := spacemap.CreateMetadata(bm, 0, bm.NrBlocks())
	if err != nil {
		b.Fatal(err)
	}
	info := btree.Info{TM: tm, Levels: 1, Value: btree.ValueType{Size: 8}}
	root, err := info.Empty()
	if err != nil {
		b.Fatal(err)
	}
	return tm, msm, info, root
}

// commitBench commits with a superblock that only records the roots.
func commitBench(b *testing.B, tm *transaction.Manager, msm *spacemap.Metadata, root uint64) {
	if err := tm.PreCommit(); err != nil {
		b.Fatal(err)
	}
	sb, err := tm.BlockManager().WriteLockZero(0, benchSB)
	if err != nil {
		b.Fatal(err)
	}
	msm.CopyRoot(sb.Data()[64:192])
	binary.LittleEndian.PutUint64(sb.Data()[320:], root)
	if err := tm.Commit(sb); err != nil {
		b.Fatal(err)
	}
}

var benchSB block.Validator = &block.SaltedValidator{Kind: "bench superblock", Salt: 1, LocationOff: 8}

func insertKeys(b *testing.B, keys []uint64) (*transaction.Manager, btree.Info, uint64) {
	tm, msm, info, root := benchTree(b)
	var v [8]byte
	var err error
	for i, k := range keys {
		binary.LittleEndian.PutUint64(v[:], k)
		if root, err = info.Insert(root, []uint64{k}, v[:]); err != nil {
			b.Fatal(err)
		}
		if i%benchBatch == benchBatch-1 {
			commitBench(b, tm, msm, root)
		}
	}
	commitBench(b, tm, msm, root)
	return tm, info, root
}

func benchInsert(b *testing.B, keys []uint64) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		insertKeys(b, keys)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(keys)), "ns/key")
}

func seqKeys() []uint64 {
	keys := make([]uint64, benchKeys)
	for i := range keys {
		keys[i] = uint64(i)
	}
	return keys
}

func randKeys() []uint64 {
	rng := rand.New(rand.NewSource(1))
	keys := make([]uint64, benchKeys)
	for i := range keys {
		keys[i] = rng.Uint64() >> 20
	}
	return keys
}

func lookupKeys() []uint64 {
	keys := make([]uint64, benchKeys)
	for i := range keys {
		keys[i] = uint64(i) * 3
	}
	return keys
}

// BenchmarkInsertSequential inserts 1M increasing keys, committing every 10k.
func BenchmarkInsertSequential(b *testing.B) { benchInsert(b, seqKeys()) }

// BenchmarkInsertRandom inserts 1M random keys, committing every 10k.
func BenchmarkInsertRandom(b *testing.B) { benchInsert(b, randKeys()) }

// BenchmarkLookupRandom looks up random present keys in a 1M-key tree.
func BenchmarkLookupRandom(b *testing.B) {
	keys := lookupKeys()
	tm, info, root := insertKeys(b, keys)
	rng := rand.New(rand.NewSource(2))
	probe := make([]uint64, 1<<16)
	for i := range probe {
		probe[i] = keys[rng.Intn(len(keys))]
	}
	var v [8]byte
	key := make([]uint64, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		key[0] = probe[i&(len(probe)-1)]
		if err := info.Lookup(root, key, v[:]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if c := tm.BlockManager().Cached(); c > 2*benchCache {
		b.Fatalf("cache grew to %d blocks", c)
	}
}

package metadata

import (
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	bolt "go.etcd.io/bbolt"
)

// Benchmarks compare the thin mapping tree with bbolt on the same workload as
// /work/shared/bench-peers/bbolt-bench: 1M uint64 keys in write transactions of 10k,
// random (PCG(1,2)) or sequential keys, then 1M random point lookups. Run with
// -benchtime=1x; files go to $BENCH_DIR (default /dev/shm, else the test temp dir).

const (
	benchN     = 1_000_000
	benchBatch = 10_000
)

func benchDir(b *testing.B) string {
	if d := os.Getenv("BENCH_DIR"); d != "" {
		return d
	}
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "thinbench")
		if err == nil {
			b.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return b.TempDir()
}

func benchKeys(order string) []uint64 {
	rng := rand.New(rand.NewPCG(1, 2))
	keys := make([]uint64, benchN)
	for i := range keys {
		if order == "seq" {
			keys[i] = uint64(i)
		} else {
			keys[i] = rng.Uint64()
		}
	}
	return keys
}

func heapInUseMiB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapInuse) / (1 << 20)
}

func benchThinInsert(b *testing.B, order string) {
	keys := benchKeys(order)
	perm := rand.New(rand.NewPCG(3, 4)).Perm(benchN)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		path := filepath.Join(benchDir(b), "meta")
		const nrMeta = 1 << 18 // 1 GiB, sparse
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			b.Fatal(err)
		}
		os.Truncate(path, nrMeta*BlockSize)
		f, err := block.OpenFile(path, false)
		if err != nil {
			b.Fatal(err)
		}
		p, err := Format(f, nrMeta, 128, benchN+benchN/100, Options{})
		if err != nil {
			b.Fatal(err)
		}
		p.CreateThin(0)
		th, _ := p.OpenThin(0)
		b.StartTimer()
		for off := 0; off < benchN; off += benchBatch {
			for _, k := range keys[off : off+benchBatch] {
				db, err := p.AllocDataBlock()
				if err != nil {
					b.Fatal(err)
				}
				if err := th.InsertBlock(k, db); err != nil {
					b.Fatal(err)
				}
			}
			if err := p.Commit(); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(benchN)/b.Elapsed().Seconds(), "inserts/s")
		b.ReportMetric(heapInUseMiB(), "heapMiB")
		free, total := p.MetadataBlocks()
		b.ReportMetric(float64(total-free)*BlockSize/(1<<20), "metaMiB")
		t0 := time.Now()
		for _, j := range perm {
			if _, found, err := th.FindBlock(keys[j]); err != nil || !found {
				b.Fatal("lookup failed", err)
			}
		}
		b.ReportMetric(float64(time.Since(t0).Nanoseconds())/benchN, "lookup-ns/op")
		th.Close()
		f.Close()
		os.Remove(path)
	}
}

func BenchmarkThinInsert1MRandom(b *testing.B)     { benchThinInsert(b, "rand") }
func BenchmarkThinInsert1MSequential(b *testing.B) { benchThinInsert(b, "seq") }

func benchBolt(b *testing.B, order string) {
	keys := benchKeys(order)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		path := filepath.Join(benchDir(b), "bolt.db")
		os.Remove(path)
		db, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			b.Fatal(err)
		}
		bucket := []byte("m")
		db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket(bucket); return err })
		k, v := make([]byte, 8), make([]byte, 8)
		b.StartTimer()
		for off := 0; off < benchN; off += benchBatch {
			tx, err := db.Begin(true)
			if err != nil {
				b.Fatal(err)
			}
			bk := tx.Bucket(bucket)
			for _, key := range keys[off : off+benchBatch] {
				binary.BigEndian.PutUint64(k, key)
				binary.BigEndian.PutUint64(v, key^0x5555)
				if err := bk.Put(k, v); err != nil {
					b.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(benchN)/b.Elapsed().Seconds(), "inserts/s")
		db.Close()
		os.Remove(path)
	}
}

func BenchmarkBbolt1MRandom(b *testing.B)     { benchBolt(b, "rand") }
func BenchmarkBbolt1MSequential(b *testing.B) { benchBolt(b, "seq") }

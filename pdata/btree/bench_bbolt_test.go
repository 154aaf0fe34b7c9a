package btree_test

import (
	"encoding/binary"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// The bbolt peer on the same keys, batches and storage, so one `go test
// -bench` run gives side-by-side figures (bench/pdata_btree.sh alternates
// them and prints ratios).

func benchDir(b *testing.B) string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "pdata-bolt-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(d) })
		return d
	}
	return b.TempDir()
}

func boltInsert(b *testing.B, keys []uint64) *bolt.DB {
	db, err := bolt.Open(filepath.Join(benchDir(b), "bolt.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	bucket := []byte("m")
	k, v := make([]byte, 8), make([]byte, 8)
	for off := 0; off < len(keys); off += benchBatch {
		err := db.Update(func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists(bucket)
			if err != nil {
				return err
			}
			for _, key := range keys[off:min(off+benchBatch, len(keys))] {
				binary.BigEndian.PutUint64(k, key)
				binary.LittleEndian.PutUint64(v, key)
				if err := bk.Put(k, v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return db
}

func benchBoltInsert(b *testing.B, keys []uint64) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		boltInsert(b, keys)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(keys)), "ns/key")
}

func BenchmarkBoltInsertSequential(b *testing.B) { benchBoltInsert(b, seqKeys()) }

func BenchmarkBoltInsertRandom(b *testing.B) { benchBoltInsert(b, randKeys()) }

func BenchmarkBoltLookupRandom(b *testing.B) {
	keys := lookupKeys()
	db := boltInsert(b, keys)
	rng := rand.New(rand.NewSource(2))
	probe := make([]uint64, 1<<16)
	for i := range probe {
		probe[i] = keys[rng.Intn(len(keys))]
	}
	k := make([]byte, 8)
	b.ReportAllocs()
	b.ResetTimer()
	err := db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket([]byte("m"))
		for i := 0; i < b.N; i++ {
			binary.BigEndian.PutUint64(k, probe[i&(len(probe)-1)])
			if bk.Get(k) == nil {
				b.Fatal("missing key")
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

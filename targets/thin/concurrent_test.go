package thin_test

import (
	"math/rand"
	"strconv"
	"sync"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// TestConcurrentIO runs writes, discards and write zeroes from several
// goroutines at once on two thin devices of one pool, as NBD connections
// do: each goroutine owns every fourth block of each device (so the bytes
// can be checked) while they share the pool's allocator, mappings and
// space maps, and the pool commits while they run. Every device then reads
// as its owners' models say, and the real thin_check passes on the
// committed metadata and thin_dump maps exactly the models' blocks.
func TestConcurrentIO(t *testing.T) {
	thinCheck := dmtest.Peer(t, "thin_check")
	thinDump := dmtest.Peer(t, "thin_dump")
	const workers = 4
	steps := 300
	if testing.Short() {
		steps = 100
	}
	e := newPool(t, 1024, "")
	devs := map[int]*dm.Device{}
	for id := range 2 {
		if err := e.message("create_thin", strconv.Itoa(id)); err != nil {
			t.Fatal(err)
		}
		devs[id] = e.activate(id)
	}
	models := make([]model, workers)
	var wg sync.WaitGroup
	errs := make(chan error, workers+1)
	stop := make(chan struct{})
	committer := sync.WaitGroup{}
	committer.Add(1)
	go func() {
		defer committer.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := e.reg.Lines("pool", false, true); err != nil {
				errs <- err
				return
			}
		}
	}()
	for w := range workers {
		models[w] = model{0: {}, 1: {}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w + 1)))
			m := models[w]
			owned := func() uint64 { return uint64(rng.Intn(thinBlocks/workers)*workers + w) }
			for step := range steps {
				id := rng.Intn(2)
				d := devs[id]
				vb := owned()
				off := int64(vb) * blockBytes
				switch op := rng.Intn(10); {
				case op < 6:
					in := int64(rng.Intn(blockSectors)) * 512
					buf := make([]byte, int64(1+rng.Intn(int(blockBytes-in)/512))*512)
					rng.Read(buf)
					if _, err := d.WriteAt(buf, off+in); err != nil {
						errs <- err
						return
					}
					m.write(id, vb, in, buf)
				case op < 8:
					if err := d.Discard(off, blockBytes); err != nil {
						errs <- err
						return
					}
					delete(m[id], vb)
				default:
					in := int64(rng.Intn(blockSectors)) * 512
					n := int64(1+rng.Intn(int(blockBytes-in)/512)) * 512
					if step%2 == 0 {
						in, n = 0, blockBytes
					}
					mayUnmap := rng.Intn(2) == 0
					if err := d.WriteZeroes(off+in, n, mayUnmap); err != nil {
						errs <- err
						return
					}
					m.zero(id, off+in, n, mayUnmap)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	committer.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all := model{0: {}, 1: {}}
	for _, m := range models {
		for id, blocks := range m {
			for vb, b := range blocks {
				all[id][vb] = b
			}
		}
	}
	checkAgainstModel(t, devs, all)
	if _, err := e.reg.Lines("pool", false, true); err != nil {
		t.Fatal(err)
	}
	checkMetadata(t, thinCheck, thinDump, e.meta, all)
}

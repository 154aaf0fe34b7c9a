package metadata

import (
	"sync"
	"testing"
)

// TestConcurrentDevices drives several devices from goroutines at once (run with
// -race): the pool lock serialises them and the result passes thin_check.
func TestConcurrentDevices(t *testing.T) {
	f, path := newMetaFile(t, 4096)
	p, err := Format(f, 4096, 128, 100000, Options{CacheBlocks: 128})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for id := uint64(0); id < 4; id++ {
		if err := p.CreateThin(id); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			th, err := p.OpenThin(id)
			if err != nil {
				errs <- err
				return
			}
			defer th.Close()
			for i := uint64(0); i < 2000; i++ {
				b, err := p.AllocDataBlock()
				if err == nil {
					err = th.InsertBlock(i*(id+1), b)
				}
				if err == nil && i%3 == 0 {
					_, _, err = th.FindBlock(i)
				}
				if err == nil && i%500 == 0 {
					err = p.Commit()
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	thinCheck(t, path)
}

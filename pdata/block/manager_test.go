package block_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/pdata/faultdev"
)

var testV = &block.SaltedValidator{Kind: "test", Salt: 42, LocationOff: 8}
var otherV = &block.SaltedValidator{Kind: "other", Salt: 43, LocationOff: 8}

// The checksum is checked against kernel-written blocks in
// pdata/pdatatest (TestKernelThinMetadata, TestKernelCloneBitset).

func TestWriteFlushRead(t *testing.T) {
	dev := faultdev.New(16 * block.BlockSize)
	bm, err := block.NewManager(dev, 4, false)
	if err != nil {
		t.Fatal(err)
	}
	for nr := uint64(1); nr < 16; nr++ {
		b, err := bm.WriteLockZero(nr, testV)
		if err != nil {
			t.Fatal(err)
		}
		b.Data()[100] = byte(nr)
		bm.Unlock(b)
		if c := bm.Cached(); c > 4 {
			t.Fatalf("cache holds %d blocks, bound 4", c)
		}
	}
	if err := bm.Flush(); err != nil {
		t.Fatal(err)
	}
	bm2, _ := block.NewManager(dev.Crash(false), 4, false)
	for nr := uint64(1); nr < 16; nr++ {
		b, err := bm2.ReadLock(nr, testV)
		if err != nil {
			t.Fatal(err)
		}
		if b.Data()[100] != byte(nr) {
			t.Fatalf("block %d lost its contents", nr)
		}
		bm2.Unlock(b)
	}
}

func TestLocking(t *testing.T) {
	dev := faultdev.New(8 * block.BlockSize)
	bm, _ := block.NewManager(dev, 0, false)
	w, err := bm.WriteLockZero(3, testV)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bm.ReadLock(3, testV); !errors.Is(err, block.ErrLocked) {
		t.Fatalf("read lock of a write-locked block: %v", err)
	}
	if _, err := bm.WriteLock(3, testV); !errors.Is(err, block.ErrLocked) {
		t.Fatalf("second write lock: %v", err)
	}
	if err := bm.Flush(); err == nil || !strings.Contains(err.Error(), "block 3") {
		t.Fatalf("flush with a write-locked block: %v", err)
	}
	bm.Unlock(w)
	r1, err := bm.ReadLock(3, testV)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := bm.ReadLock(3, testV)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bm.WriteLock(3, testV); !errors.Is(err, block.ErrLocked) {
		t.Fatalf("write lock of a read-locked block: %v", err)
	}
	bm.Unlock(r1)
	bm.Unlock(r2)
	if _, err := bm.ReadLock(3, otherV); err == nil || !strings.Contains(err.Error(), "validator mismatch") {
		t.Fatalf("validator mismatch: %v", err)
	}
	if _, err := bm.ReadLock(8, testV); !errors.Is(err, block.ErrOutOfRange) {
		t.Fatalf("out of range: %v", err)
	}
}

func TestBadBlockNamed(t *testing.T) {
	dev := faultdev.New(8 * block.BlockSize)
	bm, _ := block.NewManager(dev, 0, false)
	if _, err := bm.ReadLock(5, testV); err == nil || !strings.Contains(err.Error(), "block 5") {
		t.Fatalf("zero block accepted or not named: %v", err)
	}
	ro, _ := block.NewManager(dev, 0, true)
	if _, err := ro.WriteLockZero(1, testV); !errors.Is(err, block.ErrReadOnly) {
		t.Fatalf("read-only write: %v", err)
	}
}

func TestDiscardDirty(t *testing.T) {
	dev := faultdev.New(8 * block.BlockSize)
	bm, _ := block.NewManager(dev, 0, false)
	b, _ := bm.WriteLockZero(2, testV)
	b.Data()[50] = 1
	bm.Unlock(b)
	bm.DiscardDirty()
	if err := bm.Flush(); err != nil {
		t.Fatal(err)
	}
	if dev.Image()[2*block.BlockSize+50] != 0 {
		t.Fatal("discarded block was written")
	}
}

// TestHold checks that a held manager serves Peek and locks without its
// mutex, and that another goroutine's call waits for Release.
func TestHold(t *testing.T) {
	dev := faultdev.New(8 * block.BlockSize)
	bm, _ := block.NewManager(dev, 0, false)
	w, _ := bm.WriteLockZero(2, testV)
	w.Data()[100] = 7
	bm.Unlock(w)
	h := bm.Hold()
	data, err := h.Peek(2, testV)
	if err != nil || data[100] != 7 {
		t.Fatalf("peek: %v", err)
	}
	if _, err := h.Peek(2, otherV); err == nil || !strings.Contains(err.Error(), "block 2") {
		t.Fatalf("peek with another validator: %v", err)
	}
	done := make(chan error)
	go func() {
		b, err := bm.ReadLock(2, testV)
		if err == nil {
			bm.Unlock(b)
		}
		done <- err
	}()
	b, err := h.WriteLock(2, testV)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Peek(2, testV); !errors.Is(err, block.ErrLocked) {
		t.Fatalf("peek of a write-locked block: %v", err)
	}
	h.Unlock(b)
	h.Release()
	if err := <-done; err != nil {
		t.Fatalf("reader after release: %v", err)
	}
}

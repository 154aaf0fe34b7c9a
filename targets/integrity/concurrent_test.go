package integrity

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// The concurrent test's device: 544 blocks of 4 KiB; worker w alone
// writes the blocks b < concOwned with b%concWorkers == w, all write the
// chunks of concChunkBlocks blocks after them.
const (
	concWorkers     = 8
	concBlocks      = 544
	concOwned       = 512
	concChunkBlocks = 4
	concOps         = 300
)

// stamp is a 4 KiB block that says which block it is and which write
// wrote it: its header, then bytes that follow from the header, so that
// a block made of two writes (torn) does not pass stampOf.
func stamp(block, writer, seq uint64) []byte {
	b := make([]byte, 4096)
	binary.LittleEndian.PutUint64(b, block)
	binary.LittleEndian.PutUint64(b[8:], writer)
	binary.LittleEndian.PutUint64(b[16:], seq)
	for i := 24; i < len(b); i++ {
		b[i] = byte(uint64(i)*31 + block*5 + writer*7 + seq*11)
	}
	return b
}

// stampOf is the writer and seq of a block stamp made for block, an error
// when the bytes are not such a stamp.
func stampOf(b []byte, block uint64) (writer, seq uint64, err error) {
	writer, seq = binary.LittleEndian.Uint64(b[8:]), binary.LittleEndian.Uint64(b[16:])
	if string(b) != string(stamp(block, writer, seq)) {
		return 0, 0, fmt.Errorf("block %d is no whole write (header %x)", block, b[:24])
	}
	return writer, seq, nil
}

// concState is what the writes left: the last seq each owned block was
// written with (0: the fill).
type concState struct{ owned [concOwned]uint64 }

// checkChunk reads shared chunk c: its blocks must be one write's, all
// of them (a chunk is written whole, and overlapping I/O is ordered).
func checkChunk(x *Integrity, c uint64) error {
	buf := make([]byte, concChunkBlocks*4096)
	first := concOwned + c*concChunkBlocks
	if err := x.ReadAt(buf, first*8); err != nil {
		return fmt.Errorf("read of chunk %d: %w", c, err)
	}
	var w0, s0 uint64
	for k := uint64(0); k < concChunkBlocks; k++ {
		w, s, err := stampOf(buf[k*4096:(k+1)*4096], first+k)
		if err != nil {
			return err
		}
		if k == 0 {
			w0, s0 = w, s
		} else if w != w0 || s != s0 {
			return fmt.Errorf("chunk %d mixes writes: block 0 by %d/%d, block %d by %d/%d", c, w0, s0, k, w, s)
		}
	}
	return nil
}

// checkAll reads every block: owned ones hold their last write, chunks
// are whole.
func checkAll(x *Integrity, st *concState) error {
	buf := make([]byte, 4096)
	for b := uint64(0); b < concOwned; b++ {
		if err := x.ReadAt(buf, b*8); err != nil {
			return fmt.Errorf("read of block %d: %w", b, err)
		}
		w, s, err := stampOf(buf, b)
		if err != nil {
			return err
		}
		if want := st.owned[b]; s != want || (s != 0 && w != b%concWorkers) {
			return fmt.Errorf("block %d holds write %d/%d, want %d/%d", b, w, s, b%concWorkers, want)
		}
	}
	for c := uint64(0); c < (concBlocks-concOwned)/concChunkBlocks; c++ {
		if err := checkChunk(x, c); err != nil {
			return err
		}
	}
	return nil
}

// runWorkers runs the concurrent writers and readers over x: each writes
// its own blocks and reads them back at once, writes and reads whole
// chunks that others write too, and flushes now and then.
func runWorkers(t *testing.T, x *Integrity, st *concState) {
	var wg sync.WaitGroup
	for w := uint64(0); w < concWorkers; w++ {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(w, 11))
			seq := uint64(0)
			buf := make([]byte, 4096)
			nChunks := (concBlocks - concOwned) / concChunkBlocks
			for op := 0; op < concOps; op++ {
				seq++
				b := uint64(rng.IntN(concOwned/concWorkers))*concWorkers + w
				c := uint64(rng.IntN(nChunks))
				var err error
				switch rng.IntN(5) {
				case 0, 1:
					if err = x.WriteAt(stamp(b, w, seq), b*8); err == nil {
						st.owned[b] = seq
					}
				case 2:
					if err = x.ReadAt(buf, b*8); err == nil {
						var got uint64
						if _, got, err = stampOf(buf, b); err == nil && got != st.owned[b] {
							err = fmt.Errorf("block %d reads write %d after write %d", b, got, st.owned[b])
						}
					}
				case 3:
					first := concOwned + c*concChunkBlocks
					chunk := make([]byte, 0, concChunkBlocks*4096)
					for k := uint64(0); k < concChunkBlocks; k++ {
						chunk = append(chunk, stamp(first+k, w, seq)...)
					}
					err = x.WriteAt(chunk, first*8)
				default:
					err = checkChunk(x, c)
				}
				if err == nil && op%32 == 31 {
					err = x.Flush()
				}
				if err != nil {
					t.Errorf("worker %d, op %d: %v", w, op, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestConcurrentIO: 8 goroutines write and read at once, each its own
// blocks (disjoint ranges, in parallel) and chunks all of them write
// (overlapping ranges, ordered), in modes D, B (its bitmap flushed every
// 5 ms meanwhile, which waits for all I/O), J (a small journal, so that
// commits and writes into place happen under the I/O, and commits by
// timer; and so with the journal encrypted and MACed) and D with its tags
// being recalculated. Every write reads back
// whole, before and after the table is removed and made again (tags
// checked on every read, no mismatch counted, the target not failed).
// Run with -race.
func TestConcurrentIO(t *testing.T) {
	for _, c := range []struct{ name, fill, run string }{
		{"D", "D 1 internal_hash:crc32c", "D 1 internal_hash:crc32c"},
		{"B", "B 1 internal_hash:crc32c sectors_per_bit:64 bitmap_flush_interval:5", "B 1 internal_hash:crc32c sectors_per_bit:64 bitmap_flush_interval:5"},
		{"J", "J 3 internal_hash:crc32c journal_sectors:540 journal_watermark:60 commit_time:5", "J 3 internal_hash:crc32c journal_sectors:540 journal_watermark:60 commit_time:5"},
		{"J-crypt-mac", "J 5 internal_hash:crc32c journal_sectors:540 journal_watermark:60 journal_crypt:ctr(aes):00112233445566778899aabbccddeeff journal_mac:hmac(sha256):2233",
			"J 6 internal_hash:crc32c journal_sectors:540 journal_watermark:60 commit_time:5 journal_crypt:ctr(aes):00112233445566778899aabbccddeeff journal_mac:hmac(sha256):2233"},
		{"D-recalculate", "D 1 internal_hash:crc32c", "D 2 internal_hash:crc32c recalculate"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.Sparse("dev", 16<<20)
			x := e.Create(concBlocks*8, "dev 0 - "+c.fill)
			for b := uint64(0); b < concBlocks; b++ {
				if err := x.WriteAt(stamp(b, 0, 0), b*8); err != nil {
					t.Fatal(err)
				}
			}
			e.Remove(x)
			x = e.Create(concBlocks*8, "dev 0 - "+c.run)
			st := &concState{}
			runWorkers(t, x, st)
			if t.Failed() {
				return
			}
			if err := checkAll(x, st); err != nil {
				t.Fatal(err)
			}
			e.Remove(x)
			x = e.Create(concBlocks*8, "dev 0 - "+c.run)
			x.StopBackground()
			if err := checkAll(x, st); err != nil {
				t.Fatalf("after the table was made again: %v", err)
			}
			if x.failed != 0 || x.mismatches.Load() != 0 {
				t.Fatalf("failed %v, %d mismatches", x.failed, x.mismatches.Load())
			}
			e.Remove(x)
		})
	}
}

// TestBitmapFlushThroughSuspend: mode B's bitmap flush waits for the I/O
// in flight; when the device is suspended meanwhile (the I/O drained, the
// suspend run before the flush wakes) the flush writes nothing: the dirty
// bit stays on the device as the suspend left it.
func TestBitmapFlushThroughSuspend(t *testing.T) {
	e := newEnv(t)
	d := e.Sparse("d", 4<<20)
	x := e.Create(4096, "d 0 - B 2 internal_hash:crc32c sectors_per_bit:64")
	dmtest.WriteAt(t, x, 64, pattern(5, 4096))
	x.mu.Lock()
	inFlight := x.ranges.lock(64, 8, rangeIO)
	x.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		x.mu.Lock()
		defer x.mu.Unlock()
		x.bitmap.flush()
	}()
	for waiting := 0; waiting == 0; time.Sleep(time.Millisecond) {
		x.mu.Lock()
		waiting = len(x.ranges.waiting)
		x.mu.Unlock()
	}
	x.mu.Lock()
	x.ranges.unlock(inFlight)
	x.suspended = true
	x.mu.Unlock()
	<-done
	if bits := dmtest.FileBytes(t, d, 8*512, 1)[0]; bits != 0x02 {
		t.Fatalf("the flush wrote the bitmap after the suspend: bits %#x, want 0x02", bits)
	}
	e.Remove(x)
}

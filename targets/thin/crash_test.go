package thin_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// crashWrite is write number i of a crash run: a whole block of a pattern
// derived from the run's seed and i.
func crashWrite(seed int64, i int) (vb uint64, data []byte) {
	rng := rand.New(rand.NewSource(seed*1_000_003 + int64(i)))
	vb = uint64(rng.Intn(thinBlocks))
	data = make([]byte, blockBytes)
	var ctr [16]byte
	binary.LittleEndian.PutUint64(ctr[:], uint64(seed))
	binary.LittleEndian.PutUint64(ctr[8:], uint64(i))
	sum := sha256.Sum256(ctr[:])
	for off := 0; off < len(data); off += len(sum) {
		copy(data[off:], sum[:])
	}
	return vb, data
}

// TestCrashChild is the writer a crash test kills: it writes blocks for ever,
// flushes after every few, and prints "ack N" once writes 0..N are durable.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("THIN_CRASH_DIR")
	if dir == "" {
		t.Skip("run by TestCrashWhileWriting")
	}
	seed, _ := strconv.ParseInt(os.Getenv("THIN_CRASH_SEED"), 10, 64)
	reg, err := dm.Open(filepath.Join(dir, "state"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := reg.Lookup("thin0")
	if err := d.Prepare(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100000; i++ {
		vb, data := crashWrite(seed, i)
		if _, err := d.WriteAt(data, int64(vb)*blockBytes); err != nil {
			t.Fatal(err)
		}
		if i%4 == 3 {
			if err := d.Flush(); err != nil {
				t.Fatal(err)
			}
			fmt.Printf("ack %d\n", i)
		}
	}
}

// TestCrashWhileWriting kills a writing process with SIGKILL at random
// moments, many times; after each kill the real thin_check passes and every
// block written before the last acknowledged flush reads back (a block
// written after it may hold that write or a later one).
func TestCrashWhileWriting(t *testing.T) {
	thinCheck := dmtest.Peer(t, "thin_check")
	rounds := 12
	if testing.Short() {
		rounds = 4
	}
	e := newPool(t, 1024, "")
	if err := e.message("create_thin", "0"); err != nil {
		t.Fatal(err)
	}
	e.activate(0)
	if err := e.reg.Close(); err != nil {
		t.Fatal(err)
	}
	durable := map[uint64][]byte{} // vb -> content as of the last ack
	rng := rand.New(rand.NewSource(99))
	for round := 0; round < rounds; round++ {
		seed := int64(round + 1)
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v=false")
		cmd.Env = append(os.Environ(), "THIN_CRASH_DIR="+e.dir, fmt.Sprintf("THIN_CRASH_SEED=%d", seed))
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAt := time.Now().Add(time.Duration(50+rng.Intn(400)) * time.Millisecond)
		acked := -1
		lines := make(chan string)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					break read
				}
				if n, found := strings.CutPrefix(l, "ack "); found {
					acked, _ = strconv.Atoi(n)
				}
			case <-time.After(time.Until(killAt)):
				cmd.Process.Signal(syscall.SIGKILL)
				for l := range lines {
					if n, found := strings.CutPrefix(l, "ack "); found {
						acked, _ = strconv.Atoi(n)
					}
				}
				break read
			}
		}
		cmd.Wait()
		// what may be in each block: the durable version, or any write after the ack
		later := map[uint64][][]byte{}
		for i := 0; i <= acked; i++ {
			vb, data := crashWrite(seed, i)
			durable[vb] = data
		}
		for i := acked + 1; i <= acked+8; i++ {
			vb, data := crashWrite(seed, i)
			later[vb] = append(later[vb], data)
		}
		if out, err := exec.Command(thinCheck, e.meta).CombinedOutput(); err != nil {
			t.Fatalf("round %d (killed after ack %d): thin_check: %v\n%s", round, acked, err, out)
		}
		reg, err := dm.Open(filepath.Join(e.dir, "state"), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := reg.Lookup("thin0")
		if err := d.Prepare(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, blockBytes)
		for vb := uint64(0); vb < thinBlocks; vb++ {
			if _, err := d.ReadAt(buf, int64(vb)*blockBytes); err != nil {
				t.Fatal(err)
			}
			want, ok := durable[vb]
			if !ok {
				want = make([]byte, blockBytes)
			}
			good := bytes.Equal(buf, want)
			for _, alt := range later[vb] {
				good = good || bytes.Equal(buf, alt)
			}
			if !good {
				t.Fatalf("round %d (killed after ack %d): block %d lost a durable write", round, acked, vb)
			}
			durable[vb] = bytes.Clone(buf)
		}
		if err := reg.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: killed after ack %d", round, acked)
	}
}

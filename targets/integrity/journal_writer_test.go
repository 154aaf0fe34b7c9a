package integrity

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/targets"
)

// gatedDev is a Dev whose writes that touch [loBytes, hiBytes) wait until
// open is closed; arrived is closed when the first of them waits.
type gatedDev struct {
	targets.Dev
	loBytes, hiBytes int64
	arrived, open    chan struct{}
	once             sync.Once
}

func (d *gatedDev) WriteAt(p []byte, offBytes int64) (int, error) {
	if offBytes < d.hiBytes && d.loBytes < offBytes+int64(len(p)) {
		d.once.Do(func() { close(d.arrived) })
		<-d.open
	}
	return d.Dev.WriteAt(p, offBytes)
}

// within runs fn in a goroutine and reports whether it returned within
// the bound (its error then in *err).
func within(bound time.Duration, err *error, fn func() error) (done chan struct{}, ok bool) {
	done = make(chan struct{})
	go func() {
		defer close(done)
		*err = fn()
	}()
	select {
	case <-done:
		return done, true
	case <-time.After(bound):
		return done, false
	}
}

// TestWriteBackOutsideLock: in mode J, while the writer copies journal
// entries into place and the data device holds those writes, a read of
// other sectors and a write into the journal's free sections complete;
// a read of a sector being written back waits for it and reads the new
// data. The old writer held the target's lock through its I/O, so the
// read and the write waited for the device. Everything reads back,
// before and after the table is made again.
func TestWriteBackOutsideLock(t *testing.T) {
	const (
		lenSectors = 4096
		spanA      = 2048 // sectors [0, spanA) go through the journal under the test
		sectorB    = 3072 // read meanwhile
		sectorC    = 3584 // written meanwhile
		table      = "dev 0 - J 4 internal_hash:crc32c journal_sectors:540 journal_watermark:60 commit_time:60000"
	)
	e := newEnv(t)
	e.Sparse("dev", 16<<20)
	x := e.Create(lenSectors, table)
	oldB, oldC := pattern(1, 4096), pattern(2, 4096)
	for _, w := range []struct {
		sector uint64
		p      []byte
	}{{sectorB, oldB}, {sectorC, oldC}} {
		if err := x.WriteAt(w.p, w.sector); err != nil {
			t.Fatal(err)
		}
	}
	e.Remove(x)
	x = e.Create(lenSectors, table)

	gate := &gatedDev{Dev: x.dev, arrived: make(chan struct{}), open: make(chan struct{})}
	gate.loBytes = int64(x.geo.dataSector(x.geo.areaOffset(0))) * 512
	gate.hiBytes = int64(x.geo.dataSector(x.geo.areaOffset(spanA-1))+1) * 512
	x.dev = gate
	var closeGate sync.Once
	openGate := func() { closeGate.Do(func() { close(gate.open) }) }
	defer openGate()

	// 4 KiB writes to A until one leaves the journal below its
	// watermark: the commit then starts the writer, and the journal keeps
	// free entries (a section, the commit closing the one being filled)
	entriesPerWrite := 8 / x.geo.blockSectors()
	wroteA := make([][]byte, uint64(x.geo.journalEntries-x.threshold())/entriesPerWrite+1)
	if len(wroteA)*8 > spanA {
		t.Fatalf("%d writes to fill the journal, more than A", len(wroteA))
	}
	var errA error
	doneA := make(chan struct{})
	go func() {
		defer close(doneA)
		for b := range wroteA {
			p := pattern(byte(10+b), 4096)
			if errA = x.WriteAt(p, uint64(b)*8); errA != nil {
				return
			}
			wroteA[b] = p
		}
	}()
	select {
	case <-gate.arrived:
	case <-time.After(20 * time.Second):
		t.Fatal("the journal's writer wrote nothing into place")
	}

	gotB := make([]byte, 4096)
	var errB, errC error
	readB, ok := within(10*time.Second, &errB, func() error { return x.ReadAt(gotB, sectorB) })
	if !ok {
		t.Error("a read of sectors the writer does not hold waited for its write into place")
	}
	newC := pattern(3, 4096)
	writeC, ok := within(10*time.Second, &errC, func() error { return x.WriteAt(newC, sectorC) })
	if !ok {
		t.Error("a write into the journal waited for the writer's write into place")
	}
	// block 0 is in the first run the writer holds: the read waits for
	// it (given the time to start before the gate opens)
	gotA := make([]byte, 4096)
	var errRead error
	readA, _ := within(100*time.Millisecond, &errRead, func() error { return x.ReadAt(gotA, 0) })
	openGate()
	for _, done := range []chan struct{}{readA, readB, writeC, doneA} {
		<-done
	}
	if errA != nil || errB != nil || errC != nil {
		t.Fatalf("writes to A: %v; read of sector %d: %v; write of sector %d: %v", errA, sectorB, errB, sectorC, errC)
	}
	if !bytes.Equal(gotB, oldB) {
		t.Fatalf("sector %d read meanwhile is not what was written", sectorB)
	}
	if errRead != nil || !bytes.Equal(gotA, wroteA[0]) {
		t.Fatalf("read of block 0 through its write into place: %v, data equal %v", errRead, bytes.Equal(gotA, wroteA[0]))
	}

	got := make([]byte, 4096)
	check := func(when string) {
		t.Helper()
		for b, p := range wroteA {
			if p == nil {
				continue
			}
			if err := x.ReadAt(got, uint64(b)*8); err != nil || !bytes.Equal(got, p) {
				t.Fatalf("%s: block %d: %v, data equal %v", when, b, err, bytes.Equal(got, p))
			}
		}
		for _, w := range []struct {
			sector uint64
			p      []byte
		}{{sectorB, oldB}, {sectorC, newC}} {
			if err := x.ReadAt(got, w.sector); err != nil || !bytes.Equal(got, w.p) {
				t.Fatalf("%s: sector %d: %v, data equal %v", when, w.sector, err, bytes.Equal(got, w.p))
			}
		}
		if x.failed != 0 || x.mismatches.Load() != 0 {
			t.Fatalf("%s: failed %v, %d mismatches", when, x.failed, x.mismatches.Load())
		}
	}
	check("after the write into place")
	e.Remove(x)
	x = e.Create(lenSectors, table)
	check("after the table was made again")
	e.Remove(x)
}

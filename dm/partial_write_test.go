package dm_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
)

// rwProbe is a target that records the reads and writes it gets, as
// "r SECTOR+LEN" and "w SECTOR+LEN".
type rwProbe struct {
	mu  sync.Mutex
	ops []string
}

var rwProbes sync.Map // device name (the one argument) -> *rwProbe

func init() {
	targets.Register(targets.Type{Name: "rw-probe", Version: [3]int{1, 0, 0},
		New: func(_ *targets.Context, args []string) (targets.Target, error) {
			p := &rwProbe{}
			rwProbes.Store(args[0], p)
			return p, nil
		}})
}

func (p *rwProbe) record(op string, b []byte, sector uint64) {
	p.mu.Lock()
	p.ops = append(p.ops, fmt.Sprintf("%s %d+%d", op, sector, len(b)/targets.SectorSize))
	p.mu.Unlock()
}

func (p *rwProbe) ReadAt(b []byte, sector uint64) error    { p.record("r", b, sector); return nil }
func (p *rwProbe) WriteAt(b []byte, sector uint64) error   { p.record("w", b, sector); return nil }
func (p *rwProbe) Discard(sector, lenSectors uint64) error { return nil }
func (p *rwProbe) Flush() error                            { return nil }
func (p *rwProbe) Status() string                          { return "" }
func (p *rwProbe) Table() string                           { return "" }

// take returns the operations since the last call.
func (p *rwProbe) take() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := strings.Join(p.ops, ", ")
	p.ops = nil
	return s
}

// TestBufferedWriteReadsOnlyPartialBlocks: a write not aligned to the page
// cache's blocks reads only the blocks it covers in part (the first, the
// last, or the one), as the page cache does, then writes every block it
// covers.
func TestBufferedWriteReadsOnlyPartialBlocks(t *testing.T) {
	g := dmtest.New(t)
	if err := g.Reg.Create("p", "", []dm.TargetLine{{Len: 64, Type: "rw-probe", Args: []string{"p"}}}, false); err != nil {
		t.Fatal(err)
	}
	d := g.Device("p")
	v, _ := rwProbes.Load("p")
	probe := v.(*rwProbe)
	for _, c := range []struct {
		off, n int64
		want   string
	}{
		{2048, 8192, "r 0+8, r 16+8, w 0+24"},
		{0, 4097, "r 8+8, w 0+16"},
		{4095, 4097, "r 0+8, w 0+16"},
		{100, 10, "r 0+8, w 0+8"},
		{4096, 4096, "w 8+8"},
		{512, 4096, "r 0+8, r 8+8, w 0+16"},
	} {
		if _, err := d.WriteBuffered(make([]byte, c.n), c.off); err != nil {
			t.Fatal(err)
		}
		if got := probe.take(); got != c.want {
			t.Errorf("write of %d bytes at %d: %q, want %q", c.n, c.off, got, c.want)
		}
	}
}

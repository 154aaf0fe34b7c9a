package logwrites_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	_ "github.com/gdmsetup/gdmsetup/targets/all"
)

// rig is a registry in a temporary state directory over files in another,
// reopened at will as each gdmsetup command is its own process, with the
// kernel log collected.
type rig struct{ *dmtest.Rig }

func newRig(t testing.TB) *rig {
	t.Helper()
	return &rig{Rig: dmtest.New(t)}
}

func (g *rig) wantStatus(name, want string) {
	g.T.Helper()
	if got := g.Line(name, true); got != want {
		g.T.Errorf("status of %s: %q, want %q", name, got, want)
	}
}

func (g *rig) write(name string, p []byte, offBytes int64) {
	g.T.Helper()
	if _, err := g.Device(name).WriteAt(p, offBytes); err != nil {
		g.T.Fatalf("write %s at %d: %v", name, offBytes, err)
	}
}

func (g *rig) flush(name string) {
	g.T.Helper()
	if err := g.Device(name).Flush(); err != nil {
		g.T.Fatalf("flush %s: %v", name, err)
	}
}

func (g *rig) discard(name string, offBytes, lenBytes int64) {
	g.T.Helper()
	if err := g.Device(name).Discard(offBytes, lenBytes); err != nil {
		g.T.Fatalf("discard %s %d+%d: %v", name, offBytes, lenBytes, err)
	}
}

func (g *rig) message(name string, words ...string) error {
	_, err := g.Reg.Message(name, 0, words)
	return err
}

func (g *rig) remove(name string) {
	g.T.Helper()
	if err := g.Reg.Remove(name); err != nil {
		g.T.Fatalf("remove %s: %v", name, err)
	}
}

// takeKlog returns the kernel lines logged since the last call.
func (g *rig) takeKlog() []string {
	s := strings.TrimSpace(g.Klog.String())
	g.Klog.Reset()
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// pattern is n bytes that differ with seed.
func pattern(seed byte, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = seed + byte(i*7+i/512)
	}
	return p
}

// wantSuper checks a log's super: the format's magic, version and sector
// size, and entries.
func wantSuper(t *testing.T, s dmtest.LogSuper, entries uint64) {
	t.Helper()
	if s.Magic != 0x6a736677736872 || s.Version != 1 || s.SectorSize != 512 || s.Entries != entries {
		t.Errorf("super %+v, want magic 0x6a736677736872 version 1 sectorsize 512 entries %d", s, entries)
	}
}

// wantEntries checks each entry's position, header fields, mark and data.
func wantEntries(t *testing.T, got, want []dmtest.LogEntry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		w.DataLen = uint64(len(w.Mark))
		if g.AtSector != w.AtSector || g.Sector != w.Sector || g.LenSectors != w.LenSectors ||
			g.Flags != w.Flags || g.DataLen != w.DataLen || g.Mark != w.Mark || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("entry %d: at %d sector %d len %d flags %d data_len %d mark %q, %d data bytes; want at %d sector %d len %d flags %d data_len %d mark %q, %d data bytes (equal: %v)",
				i, g.AtSector, g.Sector, g.LenSectors, g.Flags, g.DataLen, g.Mark, len(g.Data),
				w.AtSector, w.Sector, w.LenSectors, w.Flags, w.DataLen, w.Mark, len(w.Data), bytes.Equal(g.Data, w.Data))
		}
	}
}

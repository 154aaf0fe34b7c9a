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

// logSuper is a log's sector 0, decoded.
type logSuper struct {
	magic, version, entries uint64
	sectorSize              uint32
}

// logEntry is one entry of a log, decoded: where it starts, its header's
// fields, a mark's text and a write's data.
type logEntry struct {
	atSector                  uint64
	sector, lenSectors, flags uint64
	dataLen                   uint64
	mark                      string
	data                      []byte
}

const (
	flagFlush   = 1 << 0
	flagFUA     = 1 << 1
	flagDiscard = 1 << 2
	flagMark    = 1 << 3
)

// readLog is dmtest.ReadLog, its super and entries in this package's
// types.
func readLog(t *testing.T, path string, n int) (logSuper, []logEntry) {
	t.Helper()
	s, entries := dmtest.ReadLog(t, path, n)
	out := make([]logEntry, len(entries))
	for i, e := range entries {
		out[i] = logEntry{atSector: e.AtSector, sector: e.Sector, lenSectors: e.LenSectors, flags: e.Flags, dataLen: e.DataLen, mark: e.Mark, data: e.Data}
	}
	return logSuper{magic: s.Magic, version: s.Version, entries: s.Entries, sectorSize: s.SectorSize}, out
}

// wantSuper checks a log's super: the format's magic, version and sector
// size, and entries.
func wantSuper(t *testing.T, s logSuper, entries uint64) {
	t.Helper()
	if s.magic != 0x6a736677736872 || s.version != 1 || s.sectorSize != 512 || s.entries != entries {
		t.Errorf("super %+v, want magic 0x6a736677736872 version 1 sectorsize 512 entries %d", s, entries)
	}
}

// wantEntries checks each entry's position, header fields, mark and data.
func wantEntries(t *testing.T, got, want []logEntry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		w.dataLen = uint64(len(w.mark))
		if g.atSector != w.atSector || g.sector != w.sector || g.lenSectors != w.lenSectors ||
			g.flags != w.flags || g.dataLen != w.dataLen || g.mark != w.mark || !bytes.Equal(g.data, w.data) {
			t.Errorf("entry %d: at %d sector %d len %d flags %d data_len %d mark %q, %d data bytes; want at %d sector %d len %d flags %d data_len %d mark %q, %d data bytes (equal: %v)",
				i, g.atSector, g.sector, g.lenSectors, g.flags, g.dataLen, g.mark, len(g.data),
				w.atSector, w.sector, w.lenSectors, w.flags, w.dataLen, w.mark, len(w.data), bytes.Equal(g.data, w.data))
		}
	}
}

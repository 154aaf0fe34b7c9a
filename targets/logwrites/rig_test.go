package logwrites_test

import (
	"bytes"
	"encoding/binary"
	"os"
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

// readLog decodes the super of the log in file path and its first n
// entries (n < 0: as many as the super counts), checking what the format
// fixes: zeros after the super's fields and after each entry's header (or
// mark), a mark's length below its sector, data_len 0 for the others.
func readLog(t *testing.T, path string, n int) (logSuper, []logEntry) {
	t.Helper()
	img, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	s := logSuper{magic: le.Uint64(img[0:]), version: le.Uint64(img[8:]), entries: le.Uint64(img[16:]), sectorSize: le.Uint32(img[24:])}
	if !allZero(img[28:512]) {
		t.Errorf("super: bytes after its fields are not zero")
	}
	if n < 0 {
		n = int(s.entries)
	}
	var out []logEntry
	at := uint64(1)
	for i := 0; i < n; i++ {
		off := at * 512
		if off+512 > uint64(len(img)) {
			t.Fatalf("entry %d at sector %d: past the end of the log", i, at)
		}
		h := img[off : off+512]
		e := logEntry{atSector: at, sector: le.Uint64(h[0:]), lenSectors: le.Uint64(h[8:]), flags: le.Uint64(h[16:]), dataLen: le.Uint64(h[24:])}
		tail := h[32:]
		if e.flags&flagMark != 0 {
			if e.dataLen > 479 {
				t.Errorf("entry %d: mark of %d bytes", i, e.dataLen)
			}
			e.mark = string(h[32 : 32+e.dataLen])
			tail = h[32+e.dataLen:]
		} else if e.dataLen != 0 {
			t.Errorf("entry %d: data_len %d on an entry that is no mark", i, e.dataLen)
		}
		if !allZero(tail) {
			t.Errorf("entry %d: bytes after its header are not zero", i)
		}
		at++
		if e.flags&(flagDiscard|flagMark) == 0 && e.lenSectors > 0 {
			e.data = img[at*512 : (at+e.lenSectors)*512]
			at += e.lenSectors
		}
		out = append(out, e)
	}
	return s, out
}

func allZero(p []byte) bool {
	for _, b := range p {
		if b != 0 {
			return false
		}
	}
	return true
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

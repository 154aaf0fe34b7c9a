package dmtest

import (
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"testing"
)

// LogSuper is sector 0 of a dm-log-writes log, decoded.
type LogSuper struct {
	Magic, Version, Entries uint64
	SectorSize              uint32
}

// LogEntry is one entry of a dm-log-writes log, decoded: the sector of
// the log it starts at, its header's fields, a mark's text and a write's
// data.
type LogEntry struct {
	AtSector                  uint64
	Sector, LenSectors, Flags uint64
	DataLen                   uint64
	Mark                      string
	Data                      []byte
}

// The flags of a log entry (dm-log-writes.c's LOG_*_FLAG).
const (
	LogFlush    = 1 << 0
	LogFUA      = 1 << 1
	LogDiscard  = 1 << 2
	LogMark     = 1 << 3
	LogMetadata = 1 << 4
)

// ReadLog decodes the super of the log in file path and its first n
// entries (n < 0: as many as the super counts), checking what the format
// fixes: zeros after the super's fields and after each entry's header (or
// mark), a mark's length below its sector, data_len 0 for the others. An
// entry past the end of the file fails t.
func ReadLog(t testing.TB, path string, n int) (LogSuper, []LogEntry) {
	t.Helper()
	img, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	s := LogSuper{Magic: le.Uint64(img[0:]), Version: le.Uint64(img[8:]), Entries: le.Uint64(img[16:]), SectorSize: le.Uint32(img[24:])}
	if !AllZero(img[28:512]) {
		t.Errorf("%s: super: bytes after its fields are not zero", path)
	}
	if n < 0 {
		n = int(s.Entries)
	}
	var out []LogEntry
	at := uint64(1)
	for i := 0; i < n; i++ {
		off := at * 512
		if off+512 > uint64(len(img)) {
			t.Fatalf("%s: entry %d at sector %d: past the end of the log", path, i, at)
		}
		h := img[off : off+512]
		e := LogEntry{AtSector: at, Sector: le.Uint64(h[0:]), LenSectors: le.Uint64(h[8:]), Flags: le.Uint64(h[16:]), DataLen: le.Uint64(h[24:])}
		tail := h[32:]
		if e.Flags&LogMark != 0 {
			if e.DataLen > 479 {
				t.Errorf("%s: entry %d: mark of %d bytes", path, i, e.DataLen)
				e.DataLen = 479
			}
			e.Mark = string(h[32 : 32+e.DataLen])
			tail = h[32+e.DataLen:]
		} else if e.DataLen != 0 {
			t.Errorf("%s: entry %d: data_len %d on an entry that is no mark", path, i, e.DataLen)
		}
		if !AllZero(tail) {
			t.Errorf("%s: entry %d: bytes after its header are not zero", path, i)
		}
		at++
		if e.Flags&(LogDiscard|LogMark) == 0 && e.LenSectors > 0 {
			if (at+e.LenSectors)*512 > uint64(len(img)) {
				t.Fatalf("%s: entry %d: its data passes the end of the log", path, i)
			}
			e.Data = img[at*512 : (at+e.LenSectors)*512]
			at += e.LenSectors
		}
		out = append(out, e)
	}
	return s, out
}

// AllZero reports whether every byte of p is zero.
func AllZero(p []byte) bool {
	for _, b := range p {
		if b != 0 {
			return false
		}
	}
	return true
}

// LogSummary is each entry's flags, sector and length, "FLAGS:SECTOR+LEN "
// one after the other, for comparing two logs' entries at a glance.
func LogSummary(entries []LogEntry) string {
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, "%d:%d+%d ", e.Flags, e.Sector, e.LenSectors)
	}
	return b.String()
}

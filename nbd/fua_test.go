package nbd

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/nbdshtest"
)

// callsExport is a FileExport that records its WriteAt and Flush calls in
// order; mu guards calls.
type callsExport struct {
	*FileExport
	mu    sync.Mutex
	calls []string
}

func (e *callsExport) record(call string) {
	e.mu.Lock()
	e.calls = append(e.calls, call)
	e.mu.Unlock()
}

func (e *callsExport) WriteAt(p []byte, offBytes int64) (int, error) {
	e.record("write")
	return e.FileExport.WriteAt(p, offBytes)
}

func (e *callsExport) Flush() error {
	e.record("flush")
	return e.FileExport.Flush()
}

func (e *callsExport) taken() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.calls...)
}

// fuaCallsExport is a callsExport that takes FUA writes itself.
type fuaCallsExport struct{ *callsExport }

func (e fuaCallsExport) WriteFUA(p []byte, offBytes int64) (int, error) {
	e.record("fua")
	return e.FileExport.WriteAt(p, offBytes)
}

// TestFUAWriteDispatch: a WRITE with NBD_CMD_FLAG_FUA from a real client
// (nbdsh) goes to the export's WriteFUA, with no WriteAt and no Flush for
// it (the flush at the client's disconnect may follow); an export without
// FUAWriter gets WriteAt then Flush before the reply, as before.
func TestFUAWriteDispatch(t *testing.T) {
	script := `try_("fua write", lambda: h.pwrite(b'\x5a' * 4096, 8192, nbd.CMD_FLAG_FUA))`
	for _, withFUA := range []bool{true, false} {
		p := tempFile(t, 1<<20, false)
		fe, err := OpenFileExport(p, false, false)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fe.Close() })
		c := &callsExport{FileExport: fe}
		var exp Export = c
		if withFUA {
			exp = fuaCallsExport{c}
		}
		ts := startServer(t, "unix", &Server{Exports: StaticExports{"": exp}})
		if out := nbdshtest.Run(t, ts.uri, script); strings.Join(out, "\n") != "fua write ok" {
			t.Errorf("FUAWriter %v: nbdsh printed %q", withFUA, out)
		}
		ts.stop(t)
		if data, _ := os.ReadFile(p); !bytes.Equal(data[8192:12288], bytes.Repeat([]byte{0x5a}, 4096)) {
			t.Errorf("FUAWriter %v: the write did not reach the file", withFUA)
		}
		calls := c.taken()
		ok := len(calls) >= 2 && calls[0] == "write" && calls[1] == "flush"
		if withFUA {
			ok = len(calls) >= 1 && calls[0] == "fua" && !strings.Contains(strings.Join(calls, " "), "write")
		}
		if !ok {
			t.Errorf("FUAWriter %v: calls %q", withFUA, calls)
		}
	}
}

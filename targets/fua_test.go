package targets

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"
)

// TestFileWriteFUA: a File's FUA write (pwritev2 with RWF_DSYNC) lands
// where asked, through the O_DIRECT descriptor too; one past the end
// fails with EIO and writes nothing, as WriteAt does.
func TestFileWriteFUA(t *testing.T) {
	path := filepath.Join(t.TempDir(), "disk")
	if err := os.WriteFile(path, make([]byte, 16384), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	p := bytes.Repeat([]byte{0xa5}, 4096)
	if err := DevWriteFUA(d, p, 4096); err != nil {
		t.Fatal(err)
	}
	if err := d.UseDirect(); err == nil {
		q := alignedBlock(t, 4096, 0x5a)
		if err := d.WriteFUA(q, 8192); err != nil {
			t.Fatalf("FUA write through O_DIRECT: %v", err)
		}
	}
	if err := d.WriteFUA(p[:512], 16000); !errors.Is(err, syscall.EIO) {
		t.Fatalf("FUA write across the end: %v, want EIO", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[4096:8192], p) || len(got) != 16384 || !bytes.Equal(got[16000:], make([]byte, 384)) {
		t.Fatal("the FUA writes did not land where asked, or the refused one changed the file")
	}
	if d.direct != nil && !bytes.Equal(got[8192:12288], bytes.Repeat([]byte{0x5a}, 4096)) {
		t.Fatal("the O_DIRECT FUA write did not land where asked")
	}
}

// alignedBlock is n bytes of b at a 4096-byte aligned address.
func alignedBlock(t *testing.T, n int, b byte) []byte {
	buf := make([]byte, n+4096)
	off := int(4096 - uintptr(unsafe.Pointer(&buf[0]))%4096)
	p := buf[off : off+n]
	for i := range p {
		p[i] = b
	}
	return p
}

// recordingDev is a Dev without WriteFUA that records the calls it gets.
type recordingDev struct{ calls []string }

func (r *recordingDev) ReadAt(p []byte, off int64) (int, error) { return len(p), nil }
func (r *recordingDev) WriteAt(p []byte, off int64) (int, error) {
	r.calls = append(r.calls, "write")
	return len(p), nil
}
func (r *recordingDev) Flush() error {
	r.calls = append(r.calls, "flush")
	return nil
}
func (r *recordingDev) SizeBytes() int64                { return 1 << 20 }
func (r *recordingDev) Discard(off, length int64) error { return nil }
func (r *recordingDev) Name() string                    { return "recording" }

// TestDevWriteFUAFallback: a Dev without WriteFUA gets WriteAt then Flush.
func TestDevWriteFUAFallback(t *testing.T) {
	r := &recordingDev{}
	if err := DevWriteFUA(r, make([]byte, 512), 0); err != nil || len(r.calls) != 2 || r.calls[0] != "write" || r.calls[1] != "flush" {
		t.Fatalf("calls %v, err %v: want write then flush", r.calls, err)
	}
}

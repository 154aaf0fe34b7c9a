package targets

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestFileWritePastEnd: a write that ends past the end of a regular file
// fails with EIO and changes nothing, as on a disk; a file grown behind the
// File's back takes writes at its new size, and one shrunk refuses them
// once its size is looked at again (as a table load does).
func TestFileWritePastEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "disk")
	if err := os.WriteFile(path, bytes.Repeat([]byte{7}, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	size := func() int64 {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}

	n, err := d.WriteAt(make([]byte, 512), 3840)
	if n != 0 || !errors.Is(err, syscall.EIO) {
		t.Fatalf("write across the end: n=%d err=%v, want 0 and EIO", n, err)
	}
	if got, _ := os.ReadFile(path); size() != 4096 || !bytes.Equal(got, bytes.Repeat([]byte{7}, 4096)) {
		t.Fatalf("refused write changed the file (size %d)", size())
	}
	if n, err := d.WriteAt(make([]byte, 256), 3840); n != 256 || err != nil {
		t.Fatalf("write up to the end: n=%d err=%v", n, err)
	}

	if err := os.Truncate(path, 8192); err != nil {
		t.Fatal(err)
	}
	if n, err := d.WriteAt(make([]byte, 512), 4096); n != 512 || err != nil {
		t.Fatalf("write into a grown file: n=%d err=%v", n, err)
	}
	if err := os.Truncate(path, 1024); err != nil {
		t.Fatal(err)
	}
	if d.SizeBytes() != 1024 {
		t.Fatalf("SizeBytes %d after shrinking to 1024", d.SizeBytes())
	}
	if _, err := d.WriteAt(make([]byte, 512), 4096); !errors.Is(err, syscall.EIO) || size() != 1024 {
		t.Fatalf("write past a shrunk file: err=%v size %d, want EIO and 1024", err, size())
	}
}

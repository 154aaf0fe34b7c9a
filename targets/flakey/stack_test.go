package flakey

import (
	"bytes"
	"io"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
)

// TestReadCorruptionOverMappedDevice builds flakey over a real mapped
// device whose table splits a read in two (two linear targets), as 6.1 was
// seen to: byte N of the last piece is corrupted, not of the whole read; a
// read inside one target has its own byte N corrupted; over a disk nothing.
func TestReadCorruptionOverMappedDevice(t *testing.T) {
	register()
	dev := devFile(t)
	r, err := dm.Open(t.TempDir(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.Create("lin2", "", []dm.TargetLine{
		{Start: 0, Len: 64, Type: "linear", Args: []string{dev, "0"}},
		{Start: 64, Len: 64, Type: "linear", Args: []string{dev, "1024"}},
	}, false))
	corrupt := []string{"0", "0", "1", "5", "corrupt_bio_byte", "1", "r", "7", "0"}
	must(r.Create("fl", "", []dm.TargetLine{{Start: 0, Len: 128, Type: "flakey", Args: append([]string{"/dev/mapper/lin2"}, corrupt...)}}, false))
	must(r.Create("fldisk", "", []dm.TargetLine{{Start: 0, Len: 128, Type: "flakey", Args: append([]string{dev}, corrupt...)}}, false))

	orig := pattern("dev", devBytes)
	lin2 := append(bytes.Clone(orig[:32768]), orig[1024*512:1024*512+32768]...)
	read := func(name string, off, n int64) []byte {
		t.Helper()
		d, ok := r.Lookup(name)
		if !ok {
			t.Fatalf("no device %s", name)
		}
		must(d.Prepare())
		p := make([]byte, n)
		if _, err := d.ReadAt(p, off); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name    string
		off, n  int64
		want    []byte
		comment string
	}{
		{"fl", 0, 65536, withByte(lin2, 32768, 7), "split at 32 KiB: the last piece's first byte"},
		{"fl", 0, 4096, withByte(lin2[:4096], 0, 7), "inside the first target"},
		{"fl", 32768, 32768, withByte(lin2[32768:], 0, 7), "inside the second target"},
		{"fldisk", 0, 65536, orig[:65536], "over a disk: not corrupted"},
	} {
		if got := read(c.name, c.off, c.n); !bytes.Equal(got, c.want) {
			t.Errorf("%s: read %d+%d (%s): not the expected bytes", c.name, c.off, c.n, c.comment)
		}
	}
}

package unstriped_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	_ "github.com/gdmsetup/gdmsetup/targets/all"
)

// rig is a registry over files in dir, with the kernel log kept.
type rig struct{ *dmtest.Rig }

func newRig(t *testing.T) *rig {
	t.Helper()
	return &rig{Rig: dmtest.New(t)}
}

// file makes a file of random bytes and returns its path and contents.
func (g *rig) file(name string, size int) (string, []byte) {
	g.T.Helper()
	p := g.File(name, int64(size), true)
	b, err := os.ReadFile(p)
	if err != nil {
		g.T.Fatal(err)
	}
	return p, b
}

func (g *rig) create(name string, lenSectors uint64, typ string, args ...string) (*dm.Device, error) {
	err := g.Create(name, lenSectors, typ, args...)
	d, _ := g.Reg.Lookup(name)
	return d, err
}

// table is name's one table line, the files by their names.
func (g *rig) table(name string) string {
	g.T.Helper()
	return strings.ReplaceAll(g.Line(name, false), g.Files+"/", "")
}

// TestConstructorErrors: unstripe_ctr's messages in its order, every one
// EINVAL: numbers by kstrtouint ('+' yes, '-' and overflow no), the stripe
// number checked only for more than one stripe and allowed to equal the
// count, the device opened before the offset (sscanf: no '+') is read.
func TestConstructorErrors(t *testing.T) {
	g := newRig(t)
	a, _ := g.file("a", 1<<20)
	missing := g.Path("missing")
	for _, c := range []struct {
		lenSectors uint64
		args       string
		msg        string
	}{
		{256, "2 128 0 A", "Invalid number of arguments"},
		{256, "2 128 0 A 0 0", "Invalid number of arguments"},
		{256, "0 128 0 A 0", "Invalid stripe count"},
		{256, "-2 128 0 A 0", "Invalid stripe count"},
		{256, "4294967296 128 0 A 0", "Invalid stripe count"},
		{256, "2 0 0 A 0", "Invalid chunk_size"},
		{256, "2 0x80 0 A 0", "Invalid chunk_size"},
		{256, "2 128 -1 A 0", "Invalid stripe number"},
		{256, "2 128 3 A 0", "Please provide stripe between [0, # of stripes]"},
		{256, "3 128 4 M x", "Please provide stripe between [0, # of stripes]"},
		{256, "2 128 0 M x", "Couldn't get striped device"},
		{256, "2 128 0 A +1", "Invalid striped device offset"},
		{255, "2 128 0 A x", "Invalid striped device offset"},
		{255, "2 128 0 A 0", "Target length not divisible by chunk size"},
	} {
		args := strings.Fields(strings.NewReplacer("A", a, "M", missing).Replace(c.args))
		g.Klog.Reset()
		_, err := g.create("u", c.lenSectors, "unstriped", args...)
		if !errors.Is(err, syscall.EINVAL) {
			t.Errorf("%q: error %v, want EINVAL", c.args, err)
		}
		if want := "unstriped: " + c.msg + " (-EINVAL)"; !strings.Contains(g.Klog.String(), want) {
			t.Errorf("%q: kernel log %q, want %q", c.args, g.Klog.String(), want)
		}
	}
	for _, c := range []struct{ args, table string }{
		{"+2 +128 +2 A 18446744073709551617", "2 128 2 a 1"},
		{"1 8 4294967295 A 0", "1 8 -1 a 0"},
		{"4294967295 8 2147483648 A 0", "-1 8 -2147483648 a 0"},
	} {
		g.MustCreate("u", 256, "unstriped", strings.Fields(strings.ReplaceAll(c.args, "A", a))...)
		if got := g.table("u"); got != c.table {
			t.Errorf("%q: table %q, want %q", c.args, got, c.table)
		}
		if err := g.Reg.Remove("u"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStripesOfAStripedDevice: over a striped device of n files, stripe k
// of unstriped reads back file k whole, for chunks that are and are not
// powers of 2; a write through it lands in file k; I/O that crosses chunks
// is split at them.
func TestStripesOfAStripedDevice(t *testing.T) {
	g := newRig(t)
	for _, c := range []struct{ stripes, chunkSectors int }{{2, 128}, {3, 24}, {4, 8}, {1, 16}} {
		t.Run(fmt.Sprintf("%dx%d", c.stripes, c.chunkSectors), func(t *testing.T) {
			memberSectors := c.chunkSectors * 16
			members := make([][]byte, c.stripes)
			args := []string{fmt.Sprint(c.stripes), fmt.Sprint(c.chunkSectors)}
			for k := range members {
				var p string
				p, members[k] = g.file(fmt.Sprintf("m%d", k), memberSectors*512)
				args = append(args, p, "0")
			}
			g.MustCreate("s", uint64(memberSectors*c.stripes), "striped", args...)
			for k := range members {
				name := fmt.Sprintf("u%d", k)
				u := g.MustCreate(name, uint64(memberSectors), "unstriped",
					fmt.Sprint(c.stripes), fmt.Sprint(c.chunkSectors), fmt.Sprint(k), "/dev/mapper/s", "0")
				got := make([]byte, len(members[k]))
				if _, err := u.ReadAt(got, 0); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, members[k]) {
					t.Fatalf("stripe %d does not read back member %d", k, k)
				}
				// a write across a chunk boundary, unaligned to chunks
				off := int64(c.chunkSectors*512 - 1024)
				data := make([]byte, 4096)
				rand.Read(data)
				if _, err := u.WriteAt(data, off); err != nil {
					t.Fatal(err)
				}
				onDisk, _ := os.ReadFile(g.Path(fmt.Sprintf("m%d", k)))
				if !bytes.Equal(onDisk[off:off+4096], data) {
					t.Fatalf("write through stripe %d did not land in member %d at %d", k, k, off)
				}
			}
			for k := range members {
				if err := g.Reg.Remove(fmt.Sprintf("u%d", k)); err != nil {
					t.Fatal(err)
				}
			}
			if err := g.Reg.Remove("s"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestPastTheDevice: only the target's length from the offset is checked
// at load; I/O mapped past the device's end fails with EIO, and the file
// does not grow.
func TestPastTheDevice(t *testing.T) {
	g := newRig(t)
	a, _ := g.file("a", 1<<20) // 2048 sectors
	u := g.MustCreate("u", 1024, "unstriped", "2", "128", "1", a, "1024")
	buf := make([]byte, 4096)
	if _, err := u.ReadAt(buf, 0); err != nil {
		t.Fatalf("read of the first chunk (sectors 1152-1279): %v", err)
	}
	for _, off := range []int64{512 << 10, 1<<20 - 4096, 256 << 10} {
		if _, err := u.WriteAt(buf, off); !errors.Is(err, syscall.EIO) {
			t.Fatalf("write at %d mapped past the end: %v, want EIO", off, err)
		}
	}
	if st, _ := os.Stat(a); st.Size() != 1<<20 {
		t.Fatalf("the file grew to %d bytes", st.Size())
	}
	if _, err := u.ReadAt(buf, (256<<10)-4096); err != nil {
		t.Fatalf("read of the last chunk inside the device: %v", err)
	}
}

// TestNoDiscardsNoFlushNoWriteZeroes: discards are refused (the target takes
// none), a flush succeeds without reaching the device, write zeroes is done
// by writing zeros.
func TestNoDiscardsNoFlushNoWriteZeroes(t *testing.T) {
	g := newRig(t)
	a, _ := g.file("a", 1<<20)
	u := g.MustCreate("u", 1024, "unstriped", "2", "64", "0", a, "0")
	if err := u.Discard(0, 32<<10); !errors.Is(err, syscall.EOPNOTSUPP) {
		t.Fatalf("discard: %v, want EOPNOTSUPP", err)
	}
	if err := u.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := u.WriteZeroes(16<<10, 32<<10, true); err != nil {
		t.Fatal(err)
	}
	onDisk, _ := os.ReadFile(a)
	// sectors 32-95 of the target: 32-63 in chunk 0 (file 32-63), 64-95 in
	// chunk 1 (file 128-159)
	for _, r := range [][2]int{{32, 64}, {128, 160}} {
		if !bytes.Equal(onDisk[r[0]*512:r[1]*512], make([]byte, (r[1]-r[0])*512)) {
			t.Fatalf("file sectors %d-%d not zeroed", r[0], r[1]-1)
		}
	}
	if bytes.Equal(onDisk[64*512:65*512], make([]byte, 512)) {
		t.Fatal("write zeroes reached the other stripe's chunk")
	}
}

// TestMappingModel: the mapping is the stripe's chunks of a striped array
// in order, for random geometries (map_to_core against the striped layout).
func TestMappingModel(t *testing.T) {
	g := newRig(t)
	for i := range 20 {
		stripes := 1 + randInt(5)
		chunk := 1 + randInt(16)
		k := randInt(stripes)
		rows := 1 + randInt(4)
		lenSectors := rows * chunk
		p, data := g.file(fmt.Sprintf("f%d", i), stripes*lenSectors*512)
		name := fmt.Sprintf("u%d", i)
		u := g.MustCreate(name, uint64(lenSectors), "unstriped", fmt.Sprint(stripes), fmt.Sprint(chunk), fmt.Sprint(k), p, "0")
		got := make([]byte, lenSectors*512)
		if _, err := u.ReadAt(got, 0); err != nil {
			t.Fatal(err)
		}
		for s := 0; s < lenSectors; s++ {
			arraySector := (s/chunk*stripes+k)*chunk + s%chunk
			if !bytes.Equal(got[s*512:(s+1)*512], data[arraySector*512:(arraySector+1)*512]) {
				t.Fatalf("%d stripes, chunk %d, stripe %d: sector %d is not array sector %d", stripes, chunk, k, s, arraySector)
			}
		}
		if err := g.Reg.Remove(name); err != nil {
			t.Fatal(err)
		}
	}
}

func randInt(n int) int {
	v, _ := rand.Int(rand.Reader, big.NewInt(int64(n)))
	return int(v.Int64())
}

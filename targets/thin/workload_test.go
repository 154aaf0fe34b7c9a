package thin_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math/rand"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	_ "github.com/gdmsetup/gdmsetup/targets/all"
)

const (
	blockSectors = 128
	blockBytes   = blockSectors * 512
	thinBlocks   = 64
)

type poolEnv struct {
	t         *testing.T
	dir, meta string
	reg       *dm.Registry
}

func newPool(t *testing.T, dataBlocks int, features string) *poolEnv {
	dir := t.TempDir()
	e := &poolEnv{t: t, dir: dir, meta: filepath.Join(dir, "meta.img")}
	dmtest.Sparse(t, e.meta, 4<<20)
	dmtest.Sparse(t, filepath.Join(dir, "data.img"), int64(dataBlocks)*blockBytes)
	reg, err := dm.Open(filepath.Join(dir, "state"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	e.reg = reg
	line := []string{e.meta, filepath.Join(dir, "data.img"), strconv.Itoa(blockSectors), "0"}
	if features != "" {
		line = append(line, "1", features)
	}
	if err := reg.Create("pool", "", []dm.TargetLine{{Start: 0, Len: uint64(dataBlocks * blockSectors), Type: "thin-pool", Args: line}}, false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.reg.Close() })
	return e
}

func (e *poolEnv) message(args ...string) error {
	_, err := e.reg.Message("pool", 0, args)
	return err
}

func (e *poolEnv) activate(id int) *dm.Device {
	name := fmt.Sprintf("thin%d", id)
	err := e.reg.Create(name, "", []dm.TargetLine{{Start: 0, Len: thinBlocks * blockSectors, Type: "thin", Args: []string{"/dev/mapper/pool", strconv.Itoa(id)}}}, false)
	if err != nil {
		e.t.Fatalf("activate %s: %v", name, err)
	}
	d, _ := e.reg.Lookup(name)
	if err := d.Prepare(); err != nil {
		e.t.Fatal(err)
	}
	return d
}

// model is what each thin device holds: block contents by virtual block.
type model map[int]map[uint64][]byte

func (m model) clone(id int) map[uint64][]byte {
	out := map[uint64][]byte{}
	for k, v := range m[id] {
		out[k] = v
	}
	return out
}

// TestRandomWorkload runs random writes, discards, write zeroes (with and
// without unmapping), snapshots of snapshots, deletes and flushes on several
// thin devices; every read equals the model
// and after each commit the real thin_check passes and thin_dump's mapped
// blocks equal the model's.
func TestRandomWorkload(t *testing.T) {
	thinCheck := dmtest.Peer(t, "thin_check")
	thinDump := dmtest.Peer(t, "thin_dump")
	steps := 400
	if testing.Short() {
		steps = 120
	}
	rng := rand.New(rand.NewSource(7))
	e := newPool(t, 1024, "")
	m := model{}
	devs := map[int]*dm.Device{}
	nextID := 0
	create := func(origin int) {
		id := nextID
		nextID++
		if origin < 0 {
			if err := e.message("create_thin", strconv.Itoa(id)); err != nil {
				t.Fatal(err)
			}
			m[id] = map[uint64][]byte{}
		} else {
			if err := e.message("create_snap", strconv.Itoa(id), strconv.Itoa(origin)); err != nil {
				t.Fatal(err)
			}
			m[id] = m.clone(origin)
		}
		devs[id] = e.activate(id)
	}
	pick := func() int {
		ids := make([]int, 0, len(devs))
		for id := range devs {
			ids = append(ids, id)
		}
		sort.Ints(ids)
		return ids[rng.Intn(len(ids))]
	}
	create(-1)
	create(-1)
	for step := 0; step < steps; step++ {
		switch op := rng.Intn(22); {
		case op >= 20:
			id := pick()
			off := int64(rng.Intn(thinBlocks*blockSectors)) * 512
			n := min(int64(1+rng.Intn(5*blockSectors))*512, thinBlocks*blockBytes-off)
			mayUnmap := op == 20
			if err := devs[id].WriteZeroes(off, n, mayUnmap); err != nil {
				t.Fatalf("step %d: write zeroes thin%d %d+%d (may unmap %v): %v", step, id, off, n, mayUnmap, err)
			}
			m.zero(id, off, n, mayUnmap)
		case op < 12:
			id := pick()
			vb := uint64(rng.Intn(thinBlocks))
			off := rng.Intn(blockSectors) * 512
			n := (1 + rng.Intn((blockBytes-off)/512)) * 512
			buf := make([]byte, n)
			rng.Read(buf)
			if _, err := devs[id].WriteAt(buf, int64(vb)*blockBytes+int64(off)); err != nil {
				t.Fatalf("step %d: write thin%d block %d: %v", step, id, vb, err)
			}
			m.write(id, vb, int64(off), buf)
		case op < 14:
			id := pick()
			first := uint64(rng.Intn(thinBlocks))
			n := uint64(1 + rng.Intn(4))
			end := min(first+n, thinBlocks)
			if err := devs[id].Discard(int64(first)*blockBytes, int64(end-first)*blockBytes); err != nil {
				t.Fatalf("step %d: discard: %v", step, err)
			}
			for vb := first; vb < end; vb++ {
				delete(m[id], vb)
			}
		case op < 16 && len(devs) < 12:
			create(pick())
		case op < 17 && len(devs) > 2:
			id := pick()
			if err := e.reg.Remove(fmt.Sprintf("thin%d", id)); err != nil {
				t.Fatal(err)
			}
			if err := e.message("delete", strconv.Itoa(id)); err != nil {
				t.Fatalf("delete %d: %v", id, err)
			}
			delete(devs, id)
			delete(m, id)
		default:
			// the pool's status commits it, as the kernel's does
			if _, err := e.reg.Lines("pool", false, true); err != nil {
				t.Fatal(err)
			}
			checkAgainstModel(t, devs, m)
			checkMetadata(t, thinCheck, thinDump, e.meta, m)
		}
	}
	checkAgainstModel(t, devs, m)
}

// write is a write of p at inBytes into block vb of thin device id: the
// block is mapped, zeros before the write when it was not.
func (m model) write(id int, vb uint64, inBytes int64, p []byte) {
	blk, ok := m[id][vb]
	if !ok {
		blk = make([]byte, blockBytes)
	} else {
		blk = bytes.Clone(blk)
	}
	copy(blk[inBytes:], p)
	m[id][vb] = blk
}

// zero is a WriteZeroes of n bytes at off on thin device id: with mayUnmap
// the blocks covered whole are unmapped and the parts of others zeroed where
// they are mapped; without it every block touched is mapped and zeroed there.
func (m model) zero(id int, off, n int64, mayUnmap bool) {
	for vb := uint64(off / blockBytes); int64(vb)*blockBytes < off+n; vb++ {
		start := max(off, int64(vb)*blockBytes) - int64(vb)*blockBytes
		end := min(off+n, int64(vb+1)*blockBytes) - int64(vb)*blockBytes
		_, mapped := m[id][vb]
		switch {
		case mayUnmap && start == 0 && end == blockBytes:
			delete(m[id], vb)
		case mayUnmap && !mapped:
		default:
			m.write(id, vb, start, make([]byte, end-start))
		}
	}
}

func checkAgainstModel(t *testing.T, devs map[int]*dm.Device, m model) {
	t.Helper()
	buf := make([]byte, blockBytes)
	zero := make([]byte, blockBytes)
	for id, d := range devs {
		for vb := uint64(0); vb < thinBlocks; vb++ {
			if _, err := d.ReadAt(buf, int64(vb)*blockBytes); err != nil {
				t.Fatalf("read thin%d block %d: %v", id, vb, err)
			}
			want, ok := m[id][vb]
			if !ok {
				want = zero
			}
			if !bytes.Equal(buf, want) {
				t.Fatalf("thin%d block %d differs from the model (mapped in model: %v)", id, vb, ok)
			}
		}
	}
}

type xmlDump struct {
	Devices []struct {
		ID      uint64 `xml:"dev_id,attr"`
		Singles []struct {
			Origin uint64 `xml:"origin_block,attr"`
		} `xml:"single_mapping"`
		Ranges []struct {
			Begin  uint64 `xml:"origin_begin,attr"`
			Length uint64 `xml:"length,attr"`
		} `xml:"range_mapping"`
	} `xml:"device"`
}

// checkMetadata runs the real thin_check and thin_dump on the committed
// metadata: it must be clean and map exactly the model's blocks.
func checkMetadata(t *testing.T, thinCheck, thinDump, meta string, m model) {
	t.Helper()
	if out, err := exec.Command(thinCheck, meta).CombinedOutput(); err != nil {
		t.Fatalf("thin_check: %v\n%s", err, out)
	}
	out, err := exec.Command(thinDump, meta).Output()
	if err != nil {
		t.Fatalf("thin_dump: %v", err)
	}
	var d xmlDump
	if err := xml.Unmarshal(out, &d); err != nil {
		t.Fatalf("thin_dump output: %v", err)
	}
	got := map[int]map[uint64]bool{}
	for _, dev := range d.Devices {
		blocks := map[uint64]bool{}
		for _, s := range dev.Singles {
			blocks[s.Origin] = true
		}
		for _, r := range dev.Ranges {
			for i := uint64(0); i < r.Length; i++ {
				blocks[r.Begin+i] = true
			}
		}
		got[int(dev.ID)] = blocks
	}
	if len(got) != len(m) {
		t.Fatalf("thin_dump shows %d devices, the model %d", len(got), len(m))
	}
	for id, blocks := range m {
		if len(got[id]) != len(blocks) {
			t.Fatalf("thin%d: thin_dump maps %d blocks, the model %d", id, len(got[id]), len(blocks))
		}
		for vb := range blocks {
			if !got[id][vb] {
				t.Fatalf("thin%d: block %d mapped in the model, not in thin_dump", id, vb)
			}
		}
	}
}

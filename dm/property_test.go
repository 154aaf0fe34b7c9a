package dm_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	_ "github.com/gdmsetup/gdmsetup/targets/all"
)

const sector = 512

// where a device byte lives: in a backing file, or nowhere (zero / error).
type loc struct {
	kind string // "file", "zero", "error"
	file int
	off  int64
}

// modelDev maps each byte of a device to its location.
type modelDev struct {
	name  string
	size  int64
	where func(off int64) loc
	lines []dm.TargetLine
}

type segment struct {
	startSector, lenSectors int64
	where                   func(rel int64) loc // rel: byte offset within the segment
}

// regions hands out disjoint ranges of the backing files, so that no two
// device bytes alias one file byte (where the page-cache path, as in the
// kernel, would make the result depend on the order of the I/O).
type regions struct {
	next []int64 // next free sector per file
	size int64   // sectors per file
}

func (r *regions) take(rng *rand.Rand, lenSectors int64) (int, int64, bool) {
	f := rng.Intn(len(r.next))
	start := r.next[f] + rng.Int63n(8)
	if start+lenSectors > r.size {
		return 0, 0, false
	}
	r.next[f] = start + lenSectors
	return f, start, true
}

// randomTable builds a random table over files (and, when lower is set, one
// linear segment over that mapped device) with its model.
func randomTable(rng *rand.Rand, name string, files []string, free *regions, lower *modelDev) *modelDev {
	var segs []segment
	var lines []dm.TargetLine
	var start int64
	usedLower := false
	n := 1 + rng.Intn(4)
	for i := 0; i < n; i++ {
		var seg segment
		var line dm.TargetLine
		switch k := rng.Intn(5); {
		case k == 0 && lower != nil && !usedLower:
			usedLower = true
			l := int64(1 + rng.Intn(int(lower.size/sector)))
			off := rng.Int63n(lower.size/sector - l + 1)
			line = dm.TargetLine{Type: "linear", Args: []string{"/dev/mapper/" + lower.name, strconv.FormatInt(off, 10)}}
			seg = segment{lenSectors: l, where: func(rel int64) loc { return lower.where(off*sector + rel) }}
		case k <= 1:
			l := int64(1 + rng.Intn(400))
			f, off, ok := free.take(rng, l)
			if !ok {
				line, seg = dm.TargetLine{Type: "zero"}, segment{lenSectors: 1, where: func(int64) loc { return loc{kind: "zero"} }}
				break
			}
			line = dm.TargetLine{Type: "linear", Args: []string{files[f], strconv.FormatInt(off, 10)}}
			seg = segment{lenSectors: l, where: func(rel int64) loc { return loc{"file", f, off*sector + rel} }}
		case k == 2:
			stripes := int64(1 + rng.Intn(3))
			chunk := []int64{1, 8, 16, 128}[rng.Intn(4)]
			rows := int64(1 + rng.Intn(6))
			width := rows * chunk
			line = dm.TargetLine{Type: "striped", Args: []string{strconv.FormatInt(stripes, 10), strconv.FormatInt(chunk, 10)}}
			fs := make([]int, stripes)
			offs := make([]int64, stripes)
			full := false
			for s := range fs {
				f, off, ok := free.take(rng, width)
				full = full || !ok
				fs[s], offs[s] = f, off
				line.Args = append(line.Args, files[fs[s]], strconv.FormatInt(offs[s], 10))
			}
			if full {
				line, seg = dm.TargetLine{Type: "zero"}, segment{lenSectors: 1, where: func(int64) loc { return loc{kind: "zero"} }}
				break
			}
			seg = segment{lenSectors: width * stripes, where: func(rel int64) loc {
				sec, in := rel/sector, rel%sector
				c := sec / chunk
				s := c % stripes
				return loc{"file", fs[s], (offs[s]+(c/stripes)*chunk+sec%chunk)*sector + in}
			}}
		case k == 3:
			l := int64(1 + rng.Intn(300))
			line = dm.TargetLine{Type: "zero"}
			seg = segment{lenSectors: l, where: func(int64) loc { return loc{kind: "zero"} }}
		default:
			l := int64(1 + rng.Intn(50))
			line = dm.TargetLine{Type: "error", Args: []string{"ignored"}}
			seg = segment{lenSectors: l, where: func(int64) loc { return loc{kind: "error"} }}
		}
		seg.startSector = start
		line.Start, line.Len = uint64(start), uint64(seg.lenSectors)
		start += seg.lenSectors
		segs = append(segs, seg)
		lines = append(lines, line)
	}
	return &modelDev{name: name, size: start * sector, lines: lines, where: func(off int64) loc {
		sec := off / sector
		for _, s := range segs {
			if sec < s.startSector+s.lenSectors {
				return s.where(off - s.startSector*sector)
			}
		}
		panic("offset beyond the model device")
	}}
}

// TestRandomTablesModel builds random tables of linear, striped, zero and
// error targets (a second device stacked on the first), writes random
// ranges, aligned and not, through them and checks every byte of the
// devices and of the backing files against the model, reopening the
// registry between rounds as separate processes would.
func TestRandomTablesModel(t *testing.T) {
	rounds := 40
	if testing.Short() {
		rounds = 8
	}
	for seed := int64(1); seed <= int64(rounds); seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { modelRound(t, seed) })
	}
}

func modelRound(t *testing.T, seed int64) {
	rng := rand.New(rand.NewSource(seed))
	dir := t.TempDir()
	const fileSectors = 16384
	files := make([]string, 3)
	contents := make([][]byte, 3)
	for i := range files {
		files[i] = filepath.Join(dir, fmt.Sprintf("f%d.img", i))
		contents[i] = make([]byte, fileSectors*sector)
		rng.Read(contents[i])
		if err := os.WriteFile(files[i], contents[i], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	state := filepath.Join(dir, "state")
	reg, err := dm.Open(state, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { reg.Close() }()
	free := &regions{next: make([]int64, len(files)), size: fileSectors}
	low := randomTable(rng, "low", files, free, nil)
	top := randomTable(rng, "top", files, free, low)
	for _, m := range []*modelDev{low, top} {
		if err := reg.Create(m.name, "", m.lines, false); err != nil {
			t.Fatalf("create %s %v: %v", m.name, m.lines, err)
		}
	}
	for op := 0; op < 30; op++ {
		if op%10 == 9 {
			if err := reg.Close(); err != nil {
				t.Fatal(err)
			}
			if reg, err = dm.Open(state, io.Discard); err != nil {
				t.Fatal(err)
			}
		}
		m := []*modelDev{low, top}[rng.Intn(2)]
		d, _ := reg.Lookup(m.name)
		if err := d.Prepare(); err != nil {
			t.Fatal(err)
		}
		off := rng.Int63n(m.size)
		length := 1 + rng.Int63n(min(m.size-off, 20000))
		if rng.Intn(2) == 0 {
			off, length = off/sector*sector, max(length/sector, 1)*sector
			length = min(length, m.size-off)
		}
		buf := make([]byte, length)
		rng.Read(buf)
		if rangeHas(m, off, length, "error") || !aligned(off, length) && rangeHasCover(m, off, length, "error") {
			// a write there may land in part before it fails: read instead
			if _, err := d.ReadAt(buf, off); err == nil {
				t.Fatalf("%s: read %d+%d over an error target succeeded", m.name, off, length)
			}
			continue
		}
		if _, err := d.WriteAt(buf, off); err != nil {
			t.Fatalf("write %s %d+%d: %v", m.name, off, length, err)
		}
		for i := int64(0); i < length; i++ {
			if l := m.where(off + i); l.kind == "file" {
				contents[l.file][l.off] = buf[i]
			}
		}
		checkDevice(t, reg, low, contents)
		checkDevice(t, reg, top, contents)
	}
	for i, f := range files {
		got, _ := os.ReadFile(f)
		if !bytes.Equal(got, contents[i]) {
			t.Fatalf("file %d differs from the model", i)
		}
	}
}

func aligned(off, length int64) bool { return off%sector == 0 && length%sector == 0 }

func rangeHas(m *modelDev, off, length int64, kind string) bool {
	for i := off; i < off+length; i++ {
		if m.where(i).kind == kind {
			return true
		}
	}
	return false
}

// rangeHasCover: unaligned I/O reads and writes the covering 4 KiB blocks
// (or smaller, when the device size is not a multiple of 4 KiB).
func rangeHasCover(m *modelDev, off, length int64, kind string) bool {
	bs := int64(sector)
	for bs < 4096 && m.size%(bs*2) == 0 {
		bs *= 2
	}
	start := off / bs * bs
	end := min((off+length+bs-1)/bs*bs, m.size)
	return rangeHas(m, start, end-start, kind)
}

// checkDevice reads every sector of the device: each must match the model
// or, over an error target, fail.
func checkDevice(t *testing.T, reg *dm.Registry, m *modelDev, contents [][]byte) {
	t.Helper()
	d, _ := reg.Lookup(m.name)
	if err := d.Prepare(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, sector)
	for off := int64(0); off < m.size; off += sector {
		n, err := d.ReadAt(buf, off)
		if m.where(off).kind == "error" {
			// n is 0: a caller (the NBD server) takes n == len(p) as success
			if err == nil || n != 0 {
				t.Fatalf("%s: read at %d over an error target: %d bytes, error %v; want 0 and an error", m.name, off, n, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: read at %d: %v", m.name, off, err)
		}
		for i := int64(0); i < sector; i++ {
			var want byte
			if l := m.where(off + i); l.kind == "file" {
				want = contents[l.file][l.off]
			}
			if buf[i] != want {
				t.Fatalf("%s: byte %d is %d, the model says %d (%+v)", m.name, off+i, buf[i], want, m.where(off+i))
			}
		}
	}
}

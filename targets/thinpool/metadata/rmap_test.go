package metadata

import (
	"fmt"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestRmapWalksFiltersCoalesces compares Rmap with the reverse map computed
// directly from the mappings inserted: thin_rmap's any-region test (regions
// unsorted, overlapping, empty), its run coalescing, its sort.
func TestRmapWalksFiltersCoalesces(t *testing.T) {
	f, _ := newMetaFile(t, 1024)
	p, err := Format(f, 1024, 128, 1000, Options{})
	if err != nil {
		t.Fatal(err)
	}
	type mapping struct{ dev, virt, data uint64 }
	var all []mapping
	insert := func(dev, virt, data uint64) {
		th, err := p.OpenThin(dev)
		if err != nil {
			t.Fatal(err)
		}
		defer th.Close()
		if err := th.InsertBlock(virt, data); err != nil {
			t.Fatalf("insert %d/%d: %v", dev, virt, err)
		}
	}
	if err := p.CreateThin(0); err != nil {
		t.Fatal(err)
	}
	for v := uint64(0); v < 100; v++ {
		insert(0, v, v)
	}
	if err := p.CreateSnap(1, 0); err != nil {
		t.Fatal(err)
	}
	if err := p.CreateThin(2); err != nil {
		t.Fatal(err)
	}
	for v := uint64(10); v < 15; v++ {
		insert(1, v, 190+v)
	}
	insert(1, 50, 300)
	for i := uint64(0); i < 10; i++ {
		insert(2, 1000+i, 99-i)
	}
	for v := uint64(0); v < 100; v++ {
		all = append(all, mapping{0, v, v})
	}
	for v := uint64(0); v < 100; v++ {
		switch {
		case v >= 10 && v < 15:
			all = append(all, mapping{1, v, 190 + v})
		case v == 50:
			all = append(all, mapping{1, v, 300})
		default:
			all = append(all, mapping{1, v, v})
		}
	}
	for i := uint64(0); i < 10; i++ {
		all = append(all, mapping{2, 1000 + i, 99 - i})
	}
	regions := []DataRegion{{60, 40}, {12, 13}, {0, 11}, {5, 20}, {95, 102}, {200, 202}, {300, 301}, {150, 160}}
	var want []RmapRegion
	for _, m := range all {
		in := slices.ContainsFunc(regions, func(r DataRegion) bool { return r.Begin <= m.data && m.data < r.End })
		if !in {
			continue
		}
		if n := len(want); n > 0 {
			last := &want[n-1]
			if uint64(last.ThinDev) == m.dev && last.DataEnd == m.data && last.ThinBegin+(last.DataEnd-last.DataBegin) == m.virt {
				last.DataEnd++
				continue
			}
		}
		want = append(want, RmapRegion{DataBegin: m.data, DataEnd: m.data + 1, ThinDev: uint32(m.dev), ThinBegin: m.virt})
	}
	stdSort(want, func(a, b *RmapRegion) bool { return a.DataBegin < b.DataBegin })
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	got, err := Rmap(f, regions)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Rmap\n got %v\nwant %v", got, want)
	}
	if got, err := Rmap(f, nil); err != nil || len(got) != 0 {
		t.Fatalf("Rmap without regions: %v, %v", got, err)
	}
}

// TestRmapSharedLeavesAsThinRmap: a snapshot shares most leaves of its origin's
// two-level tree; thin_rmap walks a shared node once, so those mappings are listed
// for the origin only, and so does Rmap.
func TestRmapSharedLeavesAsThinRmap(t *testing.T) {
	f, path := newMetaFile(t, 1024)
	p, err := Format(f, 1024, 128, 100000, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CreateThin(0); err != nil {
		t.Fatal(err)
	}
	th, _ := p.OpenThin(0)
	for v := uint64(0); v < 1000; v++ {
		if err := th.InsertBlock(v, v); err != nil {
			t.Fatal(err)
		}
	}
	th.Close()
	if err := p.CreateSnap(1, 0); err != nil {
		t.Fatal(err)
	}
	th, _ = p.OpenThin(1)
	if err := th.InsertBlock(5, 5000); err != nil {
		t.Fatal(err)
	}
	th.Close()
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(dmtest.Peer(t, "thin_rmap"), "--region", "0..6000", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Rmap(f, []DataRegion{{0, 6000}})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, r := range got {
		fmt.Fprintf(&b, "data %d..%d -> thin(%d) %d..%d\n", r.DataBegin, r.DataEnd, r.ThinDev, r.ThinBegin, r.ThinBegin+r.DataEnd-r.DataBegin)
	}
	if b.String() != string(out) || len(got) != 4 || got[2].DataEnd == 1000 {
		t.Fatalf("Rmap:\n%s\nthin_rmap:\n%s", b.String(), out)
	}
}

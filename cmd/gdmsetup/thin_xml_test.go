package main

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// randomThinXML describes, in thin_dump's XML, a pool whose devices share, differ
// and gap as snapshots do: device 0 maps random runs of virtual blocks to fresh
// data blocks; every later device starts as a snapshot of an earlier one, then has
// runs unmapped (discards), remapped to fresh blocks (writes breaking sharing) and
// newly mapped. The same seed gives the same XML.
func randomThinXML(seed int64, nrDevices int) string {
	rng := rand.New(rand.NewSource(seed))
	const virtBlocks = 6000
	type bt struct{ data, time uint64 }
	next := uint64(0)
	fresh := func() uint64 {
		next += 1 + uint64(rng.Intn(3)/2) // a gap now and then
		return next - 1
	}
	devs := make([]map[uint64]bt, nrDevices)
	for i := range devs {
		m := map[uint64]bt{}
		if i > 0 {
			for k, v := range devs[rng.Intn(i)] {
				m[k] = v
			}
		}
		for range 3 + rng.Intn(6) {
			start, n := uint64(rng.Intn(virtBlocks)), uint64(1+rng.Intn(200))
			op := rng.Intn(3)
			if i == 0 {
				op = 2
			}
			for k := start; k < min(start+n, virtBlocks); k++ {
				switch op {
				case 0:
					delete(m, k)
				default:
					m[k] = bt{fresh(), uint64(i)}
				}
			}
		}
		devs[i] = m
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<superblock uuid="" time="%d" transaction="%d" flags="0" version="2" data_block_size="128" nr_data_blocks="%d">`+"\n",
		nrDevices, nrDevices+3, next+100)
	for i, m := range devs {
		fmt.Fprintf(&b, `  <device dev_id="%d" mapped_blocks="%d" transaction="%d" creation_time="%d" snap_time="%d">`+"\n",
			i, len(m), i, i, nrDevices)
		keys := slices.Sorted(func(yield func(uint64) bool) {
			for k := range m {
				if !yield(k) {
					return
				}
			}
		})
		for j := 0; j < len(keys); {
			k, v := keys[j], m[keys[j]]
			n := 1
			for j+n < len(keys) && keys[j+n] == k+uint64(n) && m[keys[j+n]] == (bt{v.data + uint64(n), v.time}) {
				n++
			}
			if n == 1 {
				fmt.Fprintf(&b, `    <single_mapping origin_block="%d" data_block="%d" time="%d"/>`+"\n", k, v.data, v.time)
			} else {
				fmt.Fprintf(&b, `    <range_mapping origin_begin="%d" data_begin="%d" length="%d" time="%d"/>`+"\n", k, v.data, n, v.time)
			}
			j += n
		}
		b.WriteString("  </device>\n")
	}
	b.WriteString("</superblock>\n")
	return b.String()
}

// restoreThinXML writes xml into a new 8 MiB metadata file with `thin restore`
// and returns its path.
func restoreThinXML(t *testing.T, xml string) string {
	t.Helper()
	dir := t.TempDir()
	in, meta := filepath.Join(dir, "in.xml"), filepath.Join(dir, "meta")
	if err := os.WriteFile(in, []byte(xml), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(meta, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(meta, 8<<20); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := thinSuite.runT(t, "restore", "-i", in, "-o", meta); code != 0 {
		t.Fatalf("restore: %d %s", code, errs)
	}
	return meta
}

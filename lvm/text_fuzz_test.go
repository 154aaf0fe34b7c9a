package lvm

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseVG: any text parses or is refused, and any VG parsed plans or is refused (with
// every PV found, and with every other PV missing, in each activation mode) without a panic, an
// endless descent through sub-LVs or a device planned twice.
func FuzzParseVG(f *testing.F) {
	// The seeds are the VGs' texts as vgcfgbackup wrote them in the oracle (cheap to
	// read: a fuzz worker runs this set-up again and again).
	out, err := os.ReadFile(filepath.Join("..", "testdata", "lvm", "lvm-oracle.out"))
	if err != nil {
		f.Fatal(err)
	}
	texts := map[string]*bytes.Buffer{}
	for _, l := range strings.Split(string(out), "\n") {
		if file, text, ok := strings.Cut(l, ".txt:"); ok && strings.HasPrefix(file, "/tmp/") {
			if texts[file] == nil {
				texts[file] = &bytes.Buffer{}
			}
			texts[file].WriteString(text + "\n")
		}
	}
	if len(texts) != 2 {
		f.Fatalf("%d VG texts in lvm-oracle.out", len(texts))
	}
	for _, b := range texts {
		f.Add(b.Bytes())
	}
	// and the VGs of old-style snapshots, a merge and external origins (snap-oracle.out), of
	// cache and writecache LVs (cache-oracle.out), of pools with pending messages
	// (msg-oracle.out)
	for _, name := range []string{"snap", "cache", "msg"} {
		out, err = os.ReadFile(filepath.Join("..", "testdata", "lvm", name+"-oracle.out"))
		if err != nil {
			f.Fatal(err)
		}
		_, text, _ := strings.Cut(string(out), "\n== metadata\n")
		text, _, _ = strings.Cut(text, "\n== ")
		_, text, _ = strings.Cut(text, "backed up.\n")
		if _, err := ParseVG([]byte(text)); err != nil {
			f.Fatalf("%s-oracle.out's VG text: %v", name, err)
		}
		f.Add([]byte(text))
	}
	// and the raid and mirror VG (raid-oracle.out), the VG of raid LVs with integrity
	// (integrity-oracle.out), the raid6, raid10, raid0 and raid4 VG of the degraded
	// activations (degraded2-oracle.out): their texts from the VG's opening line to its
	// closing brace
	for _, c := range []struct{ name, vg string }{{"raid", "raid-vg"}, {"integrity", "ivg"}, {"degraded2", "gvg"}} {
		out, err = os.ReadFile(filepath.Join("..", "testdata", "lvm", c.name+"-oracle.out"))
		if err != nil {
			f.Fatal(err)
		}
		_, text, ok := strings.Cut(string(out), "\n"+c.vg+" {\n")
		if !ok {
			f.Fatalf("no VG text in %s-oracle.out", c.name)
		}
		text, _, _ = strings.Cut(text, "\n}\n")
		f.Add([]byte(c.vg + " {\n" + text + "\n}\n"))
	}
	f.Add([]byte(`v { id = "x" seqno = 1 extent_size = 8 logical_volumes { t { id = "t" status = ["VISIBLE"] segment_count = 1 segment1 { start_extent = 0 extent_count = 1 type = "thin" thin_pool = "t" device_id = 1 } } } }`))
	f.Fuzz(func(t *testing.T, text []byte) {
		vg, err := ParseVG(text)
		if err != nil {
			return
		}
		for _, pv := range vg.PVs {
			pv.Source = &PVSource{Path: "/img"}
		}
		vg.Plan(PlanOptions{IgnoreSkip: true})
		vg.Plan(PlanOptions{ReadOnly: true})
		for _, lv := range vg.LVs {
			if lv.Segments[0].Type == "thin-pool" {
				vg.PendingMessages(lv)
			}
		}
		for i, pv := range vg.PVs {
			if i%2 == 1 {
				pv.Source = nil
			}
		}
		for _, mode := range []ActivationMode{Degraded, Complete, Partial} {
			devs, _ := vg.Plan(PlanOptions{Mode: mode})
			seen := map[string]bool{}
			for _, d := range devs {
				if seen[d.Name] {
					t.Fatalf("mode %d: device %s planned twice", mode, d.Name)
				}
				seen[d.Name] = true
			}
		}
	})
}

package main

import (
	"math"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// statsFieldValue is field id of a row over one area with counters c,
// sampled over intervalNs.
func statsFieldValue(t *testing.T, id string, c statsAreaCounters, intervalNs uint64) string {
	t.Helper()
	h := &statsHandle{regions: []*statsRegion{{stepSectors: 8, lenSectors: 8, groupID: statsNoGroup, counters: []statsAreaCounters{c}}}, groups: map[uint64]*statsGroup{}}
	row := &statsRow{h: h, kind: statsArea, rep: &statsReportOptions{units: statsUnits{'h', 1}, intervalNs: intervalNs}}
	for _, f := range statsCounterSection.fields {
		if f.id == id {
			v, err := f.get(&reportObj{stats: row})
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("no field %s", id)
	return ""
}

// TestStatsDerivedMetrics: the metrics of two known samples, computed by
// hand from libdm-stats' formulas, as dmsetup shows them.
func TestStatsDerivedMetrics(t *testing.T) {
	const ms = 1000_000
	// sample 1: 100 reads (10 merged, 800 sectors, 50 ms), 50 writes (1000
	// sectors, 100 ms), 400 ms with I/O in flight, 900 ms weighted, over 2 s
	a := statsAreaCounters{reads: 100, readsMerged: 10, readSectors: 800, readNsecs: 50 * ms,
		writes: 50, writeSectors: 1000, writeNsecs: 100 * ms, ioNsecs: 400 * ms, weightedIONsecs: 900 * ms}
	for id, want := range map[string]string{
		"reads_merged_per_sec":  "0.00",       // 10 merges / 2e9 ns: libdm divides by nanoseconds
		"writes_merged_per_sec": "0.00",       //
		"reads_per_sec":         "50.00",      // 100 / 2 s
		"writes_per_sec":        "25.00",      // 50 / 2 s
		"read_size_per_sec":     "200.00k",    // 400 sectors/s
		"write_size_per_sec":    "250.00k",    // 500 sectors/s
		"avg_request_size":      "6.00k",      // 1800 sectors / 150 I/Os = 12 sectors
		"queue_size":            "0.45",       // 900 ms / 2 s
		"await":                 "1000000.00", // 150 ms / 150 I/Os, in ns
		"read_await":            "500000.00",  // 50 ms / 100
		"write_await":           "2000000.00", // 100 ms / 50
		"throughput":            "75.00",      // 150 I/Os / 2 s
		"util":                  "20.00",      // 400 ms / 2 s
		"service_time":          "2.67",       // 1e9 * (20/1e6) / (100 * 75)
		"interval_ns":           "2000000000",
		"interval":              "2.000000",
	} {
		if got := statsFieldValue(t, id, a, 2000*ms); got != want {
			t.Errorf("sample 1 %s = %q, want %q", id, got, want)
		}
	}
	// sample 2: 3 reads of 1 sector, 2 s with I/O in flight over 1 s
	// (utilization capped at 100%), no writes
	b := statsAreaCounters{reads: 3, readSectors: 3, readNsecs: 7 * ms, ioNsecs: 2000 * ms}
	for id, want := range map[string]string{
		"reads_per_sec":      "3.00",
		"read_size_per_sec":  "1.50k",
		"avg_request_size":   "512b",
		"util":               "100.00",
		"service_time":       "333.33", // 1e9 * (100/1e6) / (100 * 3)
		"read_await":         "2333333.33",
		"write_await":        "0.00",
		"write_size_per_sec": "0",
	} {
		if got := statsFieldValue(t, id, b, 1000*ms); got != want {
			t.Errorf("sample 2 %s = %q, want %q", id, got, want)
		}
	}
	// utilization below 0.01% shows as 0.01 unless 0; below 1% the service time is 0
	for io, want := range map[uint64]string{0: "0.00", 50: "0.00", 5000: "0.01", 999_990_000: "99.99"} {
		c := statsAreaCounters{reads: 2, ioNsecs: io}
		if got := statsFieldValue(t, "util", c, 1000*ms); got != want {
			t.Errorf("util of %d ns in 1 s = %q, want %q", io, got, want)
		}
		if got := statsFieldValue(t, "service_time", c, 1000*ms); got != "0.00" && io < 10*ms {
			t.Errorf("service time at %d ns = %q, want 0.00", io, got)
		}
	}
}

// TestStatsSizes: sizes as dm_size_to_string shows them for the units
// dmsetup's stats fields take.
func TestStatsSizes(t *testing.T) {
	for _, c := range []struct {
		units   string
		sectors uint64
		want    string
	}{
		{"h", 0, "0"}, {"h", 1, "512b"}, {"h", 2, "1.00k"}, {"h", 16384, "8.00m"}, {"h", 1 << 63, "0b"},
		{"H", 2, "1.02K"}, {"r", 4184064, "<2.00g"}, {"s", 16384, "16384"}, {"b", 3, "1536"},
		{"k", 16384, "8192.00"}, {"K", 2, "1.02"}, {"4k", 16, "2.00"}, {"m", 1, "0.00"},
	} {
		f, u := unitsToFactor(c.units)
		if f == 0 {
			t.Fatalf("units %q refused", c.units)
		}
		if got := (statsUnits{u, f}).sizeString(c.sectors); got != c.want {
			t.Errorf("%d sectors in %q = %q, want %q", c.sectors, c.units, got, c.want)
		}
	}
	for _, bad := range []string{"x", "", "-1"} {
		if f, _ := unitsToFactor(bad); f != 0 {
			t.Errorf("units %q taken", bad)
		}
	}
}

// TestStatsHistogramBounds: --bounds as libdm parses them (units kept for
// the bounds after them) and the histogram feature it sends.
func TestStatsHistogramBounds(t *testing.T) {
	for in, want := range map[string][]uint64{
		"10ms,20ms,1s": {10e6, 20e6, 1e9},
		"1s,2,3":       {1e9, 2e9, 3e9},
		"10,20us,3":    {10, 20000, 3000},
		"10,":          {10, 0},
		"1500ns":       {1500},
	} {
		got, err := parseHistogramBounds(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("bounds %q = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"10x": "Invalid character in histogram: x", ",10": "Empty histogram bin not allowed: ,10",
		"5ks": "Invalid character in histogram: k", "1ps": "Invalid character in histogram: p",
	} {
		if _, err := parseHistogramBounds(in); err == nil || err.Error() != want {
			t.Errorf("bounds %q: error %v, want %q", in, err, want)
		}
	}
	for _, c := range []struct {
		bounds  []uint64
		arg     string
		precise bool
	}{{[]uint64{10e6, 20e6}, "10,20", false}, {[]uint64{500e3, 1e6}, "500000,1000000", true}, {[]uint64{1500}, "1500", true}} {
		arg, precise, err := histogramArg(c.bounds, false)
		if err != nil || arg != c.arg || precise != c.precise {
			t.Errorf("histogram of %v = %q %v %v", c.bounds, arg, precise, err)
		}
	}
	if _, _, err := histogramArg([]uint64{20, 10}, false); err == nil {
		t.Error("decreasing bounds taken")
	}
	s := newSandbox(t)
	s.ok("", "create", "z", "--table", "0 64 zero")
	s.expect(args("stats create z --bounds 10x"), "", "", "Invalid character in histogram: x\nCommand failed.\n", 1)
	s.expect(args("stats create z --bounds 20,10"), "", "", "Histogram boundaries must be in order of increasing magnitude.\nz: Could not create statistics region.\nCommand failed.\n", 1)
	s.expect(args("message z 0 @stats_list"), "", "", "", 0)
}

// TestStatsGroupTags: member lists as libdm writes them in a group tag and
// reads them back, and tags libdm refuses.
func TestStatsGroupTags(t *testing.T) {
	if got := regionRanges([]uint64{0, 1, 2, 5, 7, 8}); got != "0-2,5,7-8" {
		t.Errorf("ranges %q", got)
	}
	for in, want := range map[string][]uint64{"3-4,0": {0, 3, 4}, " 1 , 2-2": {1, 2}, "": {}, "5,,6": {5, 6}} {
		if got, _, ok := parseRegionList(in); !ok || !slices.Equal(got, want) {
			t.Errorf("list %q = %v %v", in, got, ok)
		}
	}
	for _, bad := range []string{"x", "1-", "-1", "3-1", "1 2"} {
		if _, _, ok := parseRegionList(bad); ok {
			t.Errorf("list %q taken", bad)
		}
	}
	s := &statsRegion{id: 2, auxData: "DMS_GROUP=grp:2,4-5#mydata"}
	g, err := parseGroupTag(s)
	if err != nil || g.alias != "grp" || !slices.Equal(g.members, []uint64{2, 4, 5}) || s.auxData != "mydata" || g.tag() != "DMS_GROUP=grp:2,4-5" {
		t.Errorf("tag read as %+v %q %v", g, s.auxData, err)
	}
	for aux, want := range map[string]string{
		"DMS_GROUP=x":        "Found malformed group tag while reading aux_data",
		"DMS_GROUP=:1-3#-":   "Found invalid group descriptor in region 2 aux_data.",
		"DMS_GROUP=:2,a#-":   "Could not parse member list while reading group aux_data",
		"DMS_GROUP=a:#extra": "Found invalid group descriptor in region 2 aux_data.",
	} {
		if _, err := parseGroupTag(&statsRegion{id: 2, auxData: aux}); err == nil || err.Error() != want {
			t.Errorf("tag %q: %v, want %q", aux, err, want)
		}
	}
}

// TestStatsRepeatedReport: --interval 1 --count 2 reports twice in one
// command, waiting a real second without holding the state (a local
// command's state directory, the server's control lock), so that a read by
// another process in between shows in the second report, over the interval
// measured.
func TestStatsRepeatedReport(t *testing.T) {
	for _, served := range []bool{false, true} {
		t.Run(map[bool]string{false: "local", true: "serve"}[served], func(t *testing.T) {
			s := newSandbox(t)
			img := s.file("d.img", 1<<20)
			s.ok("", "create", "vol", "--table", "0 2048 linear "+img+" 0")
			s.ok("", "stats", "create", "vol")
			if served {
				srv := s.serve()
				defer func() {
					if code := srv.stop(); code != 0 {
						t.Errorf("serve exit %d\n%s", code, srv.stderr)
					}
				}()
			}
			cmd := exec.Command(binary, append([]string{"--dir", filepath.Join(s.dir, "state")},
				args("stats report --interval 1 --count 2 --noheadings -o region_id,read_count,interval_ns vol")...)...)
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			start := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			timer := time.AfterFunc(20*time.Second, func() { cmd.Process.Kill() })
			defer timer.Stop()
			time.Sleep(500 * time.Millisecond)
			s.ok("", "read", "vol", "--length", "4096")
			if err := cmd.Wait(); err != nil {
				t.Fatalf("report: %v\n%s", err, out.String())
			}
			if elapsed := time.Since(start); elapsed < time.Second {
				t.Errorf("two reports 1 s apart took %v", elapsed)
			}
			reports := strings.Split(out.String(), "\n\n")
			if len(reports) != 2 || reports[0] != "0:0:1000000000" {
				t.Fatalf("reports:\n%s", out.String())
			}
			f := strings.Split(strings.TrimSpace(reports[1]), ":")
			ns, _ := strconv.ParseFloat(f[len(f)-1], 64)
			if len(f) != 3 || f[1] != "1" || math.Abs(ns-1e9) > 0.4e9 {
				t.Errorf("second report %q: want the read, over about 1 s", reports[1])
			}
		})
	}
}

package multipath

import "testing"

// newPaths returns n paths named by their index, added to sel as usable
// with the path arguments args (one set per path).
func newPaths(t *testing.T, sel selector, args ...[]string) []*pgpath {
	t.Helper()
	var out []*pgpath
	for _, a := range args {
		p := &pgpath{active: true}
		if err := sel.addPath(p, a, t.Logf); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func indexOf(ps []*pgpath, p *pgpath) int {
	for i, x := range ps {
		if x == p {
			return i
		}
	}
	return -1
}

// TestQueueLengthChoosesFewestInFlight: the path with the fewest I/Os in
// flight, the first of equals in list order, which then goes last.
func TestQueueLengthChoosesFewestInFlight(t *testing.T) {
	s := &queueLength{}
	ps := newPaths(t, s, nil, nil, nil)
	s.startIO(ps[0], 4096)
	s.startIO(ps[0], 4096)
	s.startIO(ps[1], 4096)
	s.startIO(ps[2], 4096)
	if got := indexOf(ps, s.selectPath(4096)); got != 1 {
		t.Errorf("chose %d, want 1 (1 in flight, first of equals)", got)
	}
	if got := indexOf(ps, s.selectPath(4096)); got != 2 {
		t.Errorf("chose %d, want 2 (1 went last)", got)
	}
	s.endIO(ps[0], 4096)
	s.endIO(ps[0], 4096)
	if got := indexOf(ps, s.selectPath(4096)); got != 0 {
		t.Errorf("chose %d, want 0 (none in flight)", got)
	}
	if got := s.pathStatus(ps[1], false); got != "1 " {
		t.Errorf("status %q", got)
	}
}

// TestServiceTimeWeighsThroughput: st_compare_load's cases: equal
// throughput by load; equal load by throughput; otherwise (load +
// incoming) / throughput; a throughput of 0 only when nothing else.
func TestServiceTimeWeighsThroughput(t *testing.T) {
	s := &serviceTime{}
	ps := newPaths(t, s, []string{"1", "1"}, []string{"1", "4"}, []string{"0", "0"})
	if got := indexOf(ps, s.selectPath(4096)); got != 1 {
		t.Errorf("idle: chose %d, want 1 (throughput 4)", got)
	}
	// path 1 has 16 KiB in flight: (16K+4K)/4 = 5K against (0+4K)/1 = 4K
	s.startIO(ps[1], 16384)
	if got := indexOf(ps, s.selectPath(4096)); got != 0 {
		t.Errorf("loaded: chose %d, want 0", got)
	}
	// 8 KiB in flight: (8K+4K)/4 = 3K against 4K
	s.endIO(ps[1], 8192)
	if got := indexOf(ps, s.selectPath(4096)); got != 1 {
		t.Errorf("less loaded: chose %d, want 1", got)
	}
	if got := s.pathStatus(ps[1], false); got != "8192 4 " {
		t.Errorf("status %q", got)
	}
	s.failPath(ps[0])
	s.failPath(ps[1])
	if got := indexOf(ps, s.selectPath(4096)); got != 2 {
		t.Errorf("only throughput 0 left: chose %d, want 2", got)
	}
	for _, c := range []struct {
		sz1, sz2 int32
		rt1, rt2 uint32
		want     int // sign
	}{
		{100, 200, 3, 3, -1},
		{100, 100, 1, 2, 1},
		{100, 0, 0, 2, 1},
		{4096, 0, 8, 1, -1}, // (4096+4096)/8 < 4096/1
	} {
		p1 := &pgpath{inFlightBytes: c.sz1, relThroughput: c.rt1}
		p2 := &pgpath{inFlightBytes: c.sz2, relThroughput: c.rt2}
		got := compareLoad(p1, p2, 4096)
		if (got < 0 && c.want >= 0) || (got > 0 && c.want <= 0) || (got == 0 && c.want != 0) {
			t.Errorf("compareLoad(%+v): %d, want sign %d", c, got, c.want)
		}
	}
}

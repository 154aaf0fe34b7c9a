package multipath

import (
	"fmt"

	"github.com/gdmsetup/gdmsetup/targets"
)

// stWarnLimit is dm-service-time.c's DMWARN_LIMIT call site.
var stWarnLimit targets.RateLimit

const (
	// stMaxRelativeThroughput is the largest relative_throughput a path takes.
	stMaxRelativeThroughput = 100
	// stMaxInflightBytes is ST_MAX_INFLIGHT_SIZE: loads from there on are
	// shifted down before they are multiplied by a throughput.
	stMaxInflightBytes = ^uint64(0) >> 7
)

// serviceTime is the service-time selector (dm-service-time.c, 0.3.0):
// each I/O goes to the usable path that would serve it soonest, (bytes in
// flight + the I/O) / relative_throughput, ties to the higher throughput,
// then to the earlier path in list order; the chosen path goes last. Path
// arguments: [repeat_count [relative_throughput (0 to 100, default 1)]];
// the status gives each path's bytes in flight and throughput.
type serviceTime struct{ pathLists }

func (s *serviceTime) addPath(p *pgpath, args []string, logf func(string, ...any)) error {
	if len(args) > 2 {
		return targets.Invalid("service-time ps: incorrect number of arguments")
	}
	rc, err := parseRepeatCount(args, "service-time", "multipath service-time", &stWarnLimit, logf)
	if err != nil {
		return err
	}
	rt := uint64(1)
	if len(args) == 2 {
		var ok bool
		if rt, ok = targets.ScanUint(args[1], 32); !ok || rt > stMaxRelativeThroughput {
			return targets.Invalid("service-time ps: invalid relative_throughput value")
		}
	}
	p.repeatCount, p.relThroughput, p.inFlightBytes = rc, uint32(rt), 0
	s.add(p)
	return nil
}

// compareLoad is st_compare_load: below 0 when p1 is the better path for
// an I/O of incoming bytes, above 0 when p2 is, with the kernel's
// size_t and unsigned arithmetic cut to an int.
func compareLoad(p1, p2 *pgpath, incoming uint64) int32 {
	sz1, sz2 := uint64(int64(p1.inFlightBytes)), uint64(int64(p2.inFlightBytes))
	if p1.relThroughput == p2.relThroughput {
		return int32(sz1 - sz2)
	}
	if sz1 == sz2 || p1.relThroughput == 0 || p2.relThroughput == 0 {
		return int32(p2.relThroughput - p1.relThroughput)
	}
	sz1 += incoming
	sz2 += incoming
	if sz1 >= stMaxInflightBytes || sz2 >= stMaxInflightBytes {
		sz1 >>= 7
		sz2 >>= 7
	}
	st1, st2 := sz1*uint64(p2.relThroughput), sz2*uint64(p1.relThroughput)
	if st1 != st2 {
		return int32(st1 - st2)
	}
	return int32(p2.relThroughput - p1.relThroughput)
}

func (s *serviceTime) selectPath(nrBytes uint64) *pgpath {
	best := -1
	for i, p := range s.valid {
		if best < 0 || compareLoad(p, s.valid[best], nrBytes) < 0 {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	return s.used(best)
}

func (s *serviceTime) failPath(p *pgpath)      { s.fail(p) }
func (s *serviceTime) reinstatePath(p *pgpath) { s.reinstate(p, false) }

func (s *serviceTime) startIO(p *pgpath, nrBytes uint64) {
	p.inFlightBytes += int32(uint32(nrBytes))
}

func (s *serviceTime) endIO(p *pgpath, nrBytes uint64) {
	p.inFlightBytes -= int32(uint32(nrBytes))
}

func (s *serviceTime) pathStatus(p *pgpath, table bool) string {
	if table {
		return fmt.Sprintf("%d %d ", p.repeatCount, p.relThroughput)
	}
	return fmt.Sprintf("%d %d ", p.inFlightBytes, p.relThroughput)
}

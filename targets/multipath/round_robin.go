package multipath

import (
	"fmt"

	"github.com/gdmsetup/gdmsetup/targets"
)

// rrWarnLimit is dm-round-robin.c's DMWARN_LIMIT call site.
var rrWarnLimit targets.RateLimit

// roundRobin is the round-robin selector (dm-round-robin.c, 1.2.0): each
// I/O goes to the first usable path, which then goes last; a reinstated
// path comes first. Its one path argument is repeat_count (1; larger is
// taken as 1).
type roundRobin struct{ pathLists }

func (s *roundRobin) addPath(p *pgpath, args []string, logf func(string, ...any)) error {
	if len(args) > 1 {
		return targets.Invalid("round-robin ps: incorrect number of arguments")
	}
	rc, err := parseRepeatCount(args, "round-robin", "multipath round-robin", &rrWarnLimit, logf)
	if err != nil {
		return err
	}
	p.repeatCount = rc
	s.add(p)
	return nil
}

func (s *roundRobin) selectPath(uint64) *pgpath {
	if len(s.valid) == 0 {
		return nil
	}
	return s.used(0)
}

func (s *roundRobin) failPath(p *pgpath)      { s.fail(p) }
func (s *roundRobin) reinstatePath(p *pgpath) { s.reinstate(p, true) }
func (s *roundRobin) startIO(*pgpath, uint64) {}
func (s *roundRobin) endIO(*pgpath, uint64)   {}

func (s *roundRobin) pathStatus(p *pgpath, table bool) string {
	if table {
		return fmt.Sprintf("%d ", p.repeatCount)
	}
	return ""
}

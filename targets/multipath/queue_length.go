package multipath

import (
	"fmt"

	"github.com/gdmsetup/gdmsetup/targets"
)

// qlWarnLimit is dm-queue-length.c's DMWARN_LIMIT call site.
var qlWarnLimit targets.RateLimit

// queueLength is the queue-length selector (dm-queue-length.c, 0.2.0):
// each I/O goes to the usable path with the fewest I/Os in flight (the
// first of them in list order, the search stopping at one with none),
// which then goes last. Its one path argument is repeat_count; the status
// gives each path's I/Os in flight.
type queueLength struct{ pathLists }

func (s *queueLength) addPath(p *pgpath, args []string, logf func(string, ...any)) error {
	if len(args) > 1 {
		return targets.Invalid("queue-length ps: incorrect number of arguments")
	}
	rc, err := parseRepeatCount(args, "queue-length", "multipath queue-length", &qlWarnLimit, logf)
	if err != nil {
		return err
	}
	p.repeatCount, p.qlen = rc, 0
	s.add(p)
	return nil
}

func (s *queueLength) selectPath(uint64) *pgpath {
	best := -1
	for i, p := range s.valid {
		if best < 0 || p.qlen < s.valid[best].qlen {
			best = i
		}
		if s.valid[best].qlen == 0 {
			break
		}
	}
	if best < 0 {
		return nil
	}
	return s.used(best)
}

func (s *queueLength) failPath(p *pgpath)          { s.fail(p) }
func (s *queueLength) reinstatePath(p *pgpath)     { s.reinstate(p, false) }
func (s *queueLength) startIO(p *pgpath, _ uint64) { p.qlen++ }
func (s *queueLength) endIO(p *pgpath, _ uint64)   { p.qlen-- }

func (s *queueLength) pathStatus(p *pgpath, table bool) string {
	if table {
		return fmt.Sprintf("%d ", p.repeatCount)
	}
	return fmt.Sprintf("%d ", p.qlen)
}

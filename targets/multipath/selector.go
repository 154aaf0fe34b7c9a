package multipath

import (
	"slices"
	"time"

	"github.com/gdmsetup/gdmsetup/targets"
)

// selector is a path selector of one priority group (struct
// path_selector_type's operations on its context). Its caller holds
// Multipath.mu for every call.
type selector interface {
	// addPath is add_path: p joins the usable paths, with args its path
	// arguments; an error is a *targets.CtrError (ti->error). logf writes
	// the selector's own warnings.
	addPath(p *pgpath, args []string, logf func(format string, args ...any)) error
	// selectPath is select_path: the path for an I/O of nrBytes, nil when
	// no path is usable.
	selectPath(nrBytes uint64) *pgpath
	// failPath and reinstatePath move p out of and back into use.
	failPath(p *pgpath)
	reinstatePath(p *pgpath)
	// startIO and endIO count an I/O of nrBytes in flight on p.
	startIO(p *pgpath, nrBytes uint64)
	endIO(p *pgpath, nrBytes uint64)
	// pathStatus is p's part of the status (table false) or table line,
	// each word followed by a space.
	pathStatus(p *pgpath, table bool) string
	// lists gives the usable and the failed paths in the selector's order
	// (what SaveState keeps), for restore to set back.
	lists() *pathLists
}

// selectorType is a registered path selector (struct path_selector_type):
// tableArgs and infoArgs are the words per path of its table and status.
type selectorType struct {
	name                string
	tableArgs, infoArgs int
	new                 func() selector
}

// selectorTypes are the selectors the oracle kernel has loaded.
var selectorTypes = []*selectorType{
	{name: "round-robin", tableArgs: 1, infoArgs: 0, new: func() selector { return &roundRobin{} }},
	{name: "queue-length", tableArgs: 1, infoArgs: 1, new: func() selector { return &queueLength{} }},
	{name: "service-time", tableArgs: 2, infoArgs: 2, new: func() selector { return &serviceTime{} }},
}

// lookupSelector is dm_get_path_selector: the type named exactly name.
func lookupSelector(name string) *selectorType {
	for _, t := range selectorTypes {
		if t.name == name {
			return t
		}
	}
	return nil
}

// now is the clock of the selectors' rate limits.
var now = time.Now

// pathLists is what every selector keeps: the usable paths in the order
// it tries them, and the failed ones (most recently failed first), as the
// kernel's two list_heads.
type pathLists struct {
	valid, failed []*pgpath
}

func (l *pathLists) lists() *pathLists { return l }

// add puts a new path last among the usable ones (list_add_tail).
func (l *pathLists) add(p *pgpath) { l.valid = append(l.valid, p) }

// fail moves p to the head of the failed paths (list_move).
func (l *pathLists) fail(p *pgpath) {
	l.valid = slices.DeleteFunc(l.valid, func(x *pgpath) bool { return x == p })
	l.failed = slices.Insert(slices.DeleteFunc(l.failed, func(x *pgpath) bool { return x == p }), 0, p)
}

// reinstate moves p back among the usable paths, first (list_move) or
// last (list_move_tail).
func (l *pathLists) reinstate(p *pgpath, first bool) {
	l.failed = slices.DeleteFunc(l.failed, func(x *pgpath) bool { return x == p })
	l.valid = slices.DeleteFunc(l.valid, func(x *pgpath) bool { return x == p })
	if first {
		l.valid = slices.Insert(l.valid, 0, p)
	} else {
		l.valid = append(l.valid, p)
	}
}

// used moves the usable path at i last, so that the others come before
// it next time (list_move_tail), and returns it.
func (l *pathLists) used(i int) *pgpath {
	p := l.valid[i]
	l.valid = append(slices.Delete(l.valid, i, i+1), p)
	return p
}

// parseRepeatCount reads the repeat_count path argument every selector
// takes first (sscanf "%u"); above 1 it is deprecated and taken as 1, with
// the selector's rate-limited warning. what names the selector in errors.
func parseRepeatCount(args []string, what, logPrefix string, limit *targets.RateLimit, logf func(string, ...any)) (uint32, error) {
	if len(args) == 0 {
		return 1, nil
	}
	v, ok := targets.ScanUint(args[0], 32)
	if !ok {
		return 0, targets.Invalid(what + " ps: invalid repeat count")
	}
	if v > 1 {
		if limit.Allow(now()) {
			logf(logPrefix + ": repeat_count > 1 is deprecated, using 1 instead")
		}
		v = 1
	}
	return uint32(v), nil
}

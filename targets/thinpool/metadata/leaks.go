package metadata

import (
	"errors"
	"fmt"
)

// Leak is a block a space map counts more often than the check found it
// referenced: thin_check's non-fatal error, since the pool only loses the
// space (a crash between a space map's update and the tree's can leave one).
type Leak struct {
	Space    string // "metadata" or "data"
	Block    uint64 // block number in that space
	OnDisk   uint32 // the space map's count
	Expected uint32 // references found
}

func (l *Leak) Error() string {
	if l.Expected == 0 {
		return fmt.Sprintf("%s block %d: leaked (count %d, unreferenced)", l.Space, l.Block, l.OnDisk)
	}
	return fmt.Sprintf("%s block %d: reference count %d in the %s space map, expected %d", l.Space, l.Block, l.OnDisk, l.Space, l.Expected)
}

// Fixable reports whether FixLeaks may free the block: referenced nowhere and
// counted once or twice (thin_check's rule; a count of three or more lives in
// the space map's overflow tree).
func (l *Leak) Fixable() bool { return l.Expected == 0 && l.OnDisk <= 2 }

// ErrNotFixable is FixLeaks' refusal: the check was narrowed, found a problem
// other than a leak, or a leak that is not Fixable.
var ErrNotFixable = errors.New("metadata cannot be fixed by freeing leaked blocks")

// FixLeaks frees every block res lists as leaked, as thin_check --auto-repair
// does. res must come from a full CheckWith of dev as it is now (the caller
// holds dev exclusively between the two), with no fatal problem and every
// leak Fixable; otherwise FixLeaks returns an error matching ErrNotFixable
// and changes nothing. The counts drop in one transaction committed as the
// pool commits: new space-map blocks, then the superblock, so a crash leaves
// either the old metadata or the fixed one.
func FixLeaks(dev BlockDevice, res *CheckResult) error {
	switch {
	case !res.full:
		return fmt.Errorf("%w: it was not fully examined", ErrNotFixable)
	case res.Fatal:
		return fmt.Errorf("%w: %v", ErrNotFixable, firstFatal(res.Problems))
	}
	for _, l := range res.Leaks {
		if !l.Fixable() {
			return fmt.Errorf("%w: %v", ErrNotFixable, l)
		}
	}
	if len(res.Leaks) == 0 {
		return nil
	}
	p, err := Open(dev, Options{})
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.begin(); err != nil {
		return err
	}
	for _, l := range res.Leaks {
		dec := p.dsm.Dec
		if l.Space == "metadata" {
			dec = p.msm.Dec
		}
		for range l.OnDisk {
			if err := dec(l.Block); err != nil {
				return fmt.Errorf("freeing %v: %w", l, err)
			}
		}
	}
	return p.commit()
}

// firstFatal returns the first problem that is not a leak.
func firstFatal(problems []error) error {
	for _, p := range problems {
		if _, ok := p.(*Leak); !ok {
			return p
		}
	}
	return errors.New("unlisted problems")
}

package era

import (
	"fmt"
	"syscall"
)

// calcNrBlocks is calc_nr_blocks: the target's length in blocks, rounded up.
func (e *Era) calcNrBlocks() uint64 {
	return (e.lenSectors + uint64(e.blockSectors) - 1) / uint64(e.blockSectors)
}

// PreResume is era_preresume: a table that has not been live yet first
// takes the metadata as the table it replaces left it; then the era array
// follows the origin's size in blocks (committed), the worker starts and
// a new era begins.
func (e *Era) PreResume() error {
	e.workMu.Lock()
	if e.fresh && e.md.committedSM {
		md, err := openMetadata(e.meta, e.blockSectors, false, e.ctx.Logf)
		if err != nil {
			e.workMu.Unlock()
			return fmt.Errorf("era %s: reopening metadata: %w", e.ctx.DevName, err)
		}
		e.md, e.dg = md, digest{}
		e.snapshot = e.state()
	}
	e.fresh = false
	if n := e.calcNrBlocks(); e.nrBlocks != n {
		if n >= maxOriginBlocks {
			e.logf("Invalid number of origin blocks %d", n)
			e.logf("era_preresume: metadata_resize failed")
			e.workMu.Unlock()
			return syscall.EINVAL
		}
		if err := e.md.resize(n); err != nil {
			e.logf("metadata_resize: dm_array_resize failed")
			e.logf("era_preresume: metadata_resize failed")
			e.workMu.Unlock()
			return fmt.Errorf("era %s: %w", e.ctx.DevName, err)
		}
		if err := e.commit(); err != nil {
			e.logf("era_preresume: metadata_commit failed")
			e.workMu.Unlock()
			return fmt.Errorf("era %s: %w", e.ctx.DevName, err)
		}
		e.nrBlocks = n
	}
	e.suspended = false
	e.workMu.Unlock()
	if err := e.rpc(func(md *metadata) error { return md.rollover() }); err != nil {
		e.logf("era_preresume: metadata_era_rollover failed")
		return fmt.Errorf("era %s: %w", e.ctx.DevName, err)
	}
	return nil
}

// Resume has nothing left to do (era has no resume hook).
func (e *Era) Resume() {}

// PostSuspend is era_postsuspend: the worker archives the current
// writeset, stops, and the metadata is committed. Failures are logged only.
func (e *Era) PostSuspend() error {
	if err := e.rpc(func(md *metadata) error { return md.archive() }); err != nil {
		e.logf("era_postsuspend: couldn't archive current era")
	}
	e.workMu.Lock()
	e.suspended = true
	e.workMu.Unlock()
	e.waitBackground()
	e.workMu.Lock()
	defer e.workMu.Unlock()
	if err := e.commit(); err != nil {
		e.logf("era_postsuspend: metadata_commit failed")
	}
	return nil
}

// Destroy is era_dtr: the worker stops; nothing is committed.
func (e *Era) Destroy() {
	e.workMu.Lock()
	e.suspended = true
	e.workMu.Unlock()
	e.waitBackground()
}

// Close lets the background digest finish, as the kernel's worker does
// while the table lives on, and releases the metadata. The only write is
// for metadata this table formatted and never committed since: the
// kernel's format leaves the space map uncommitted until the first
// resume, which a later process could not reopen.
func (e *Era) Close() error {
	e.waitBackground()
	e.workMu.Lock()
	defer e.workMu.Unlock()
	if e.md.committedSM {
		return nil
	}
	if err := e.md.commit(); err != nil {
		return fmt.Errorf("era %s: committing freshly formatted metadata: %w", e.ctx.DevName, err)
	}
	return nil
}

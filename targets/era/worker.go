package era

import (
	"fmt"
	"syscall"
)

// work runs one round of the worker (do_work) with fn as its rpc (nil:
// none) and returns fn's result; the digest then goes on in the
// background while it has steps left, as the kernel's worker requeues
// itself.
func (e *Era) work(fn func(*metadata) error) error {
	e.workMu.Lock()
	err := e.doWork(fn)
	more := e.dg.step != stepNone && !e.suspended
	e.workMu.Unlock()
	if more {
		e.kick()
	}
	return err
}

// rpc is in_worker0/in_worker1: fn runs in the worker, which then commits.
// The kernel's rpc waits for a worker that a suspend stopped, for ever;
// here it runs all the same.
func (e *Era) rpc(fn func(*metadata) error) error { return e.work(fn) }

// doWork is do_work: start a digest if writesets were archived, one digest
// step, the deferred writes, the rpc. Called with workMu held.
func (e *Era) doWork(fn func(*metadata) error) error {
	e.ranSinceCommit = true
	if e.md.archived { // kick_off_digest
		e.md.archived = false
		e.dg.start()
	}
	e.processOldEras()
	e.processDeferred()
	if fn == nil {
		return nil
	}
	err := fn(e.md)
	if cerr := e.commit(); cerr != nil {
		err = cerr
	}
	return err
}

// processOldEras is process_old_eras: one digest step; a failing step
// stops the digest.
func (e *Era) processOldEras() {
	if e.dg.step == stepNone {
		return
	}
	if err := e.dg.run(e.md); err != nil {
		e.logf("process_old_eras: digest step failed, stopping digestion")
		e.dg.step = stepNone
	}
}

// processDeferred is process_deferred_bios: mark every deferred write's
// block on disk, commit once if any was new, and only then mark them in
// core and let the writes go (or fail them all).
func (e *Era) processDeferred() {
	e.qmu.Lock()
	ws := e.deferred
	e.deferred = nil
	e.qmu.Unlock()
	if len(ws) == 0 {
		return
	}
	md := e.md
	cur := md.cur.Load()
	commitNeeded := false
	var failed error
	for _, w := range ws {
		if cur.marked(w.dataBlock) {
			continue
		}
		root, err := md.bits.SetBit(md.current.root, w.dataBlock)
		if err != nil {
			failed = fmt.Errorf("era %s: marking block %d: %w", e.ctx.DevName, w.dataBlock, err)
			continue
		}
		md.current.root = root
		commitNeeded = true
	}
	if commitNeeded {
		if err := e.commit(); err != nil {
			failed = fmt.Errorf("era %s: metadata commit: %w", e.ctx.DevName, err)
		}
	}
	for _, w := range ws {
		if failed != nil {
			w.err = fmt.Errorf("%w (%w)", failed, syscall.EIO)
		} else if commitNeeded {
			cur.set(w.dataBlock)
		}
		close(w.done)
	}
}

// commit commits the metadata and remembers the in-core state that goes
// with it (savedState). Called with workMu held.
func (e *Era) commit() error {
	if err := e.md.commit(); err != nil {
		return err
	}
	e.ranSinceCommit = false
	e.snapshot = e.state()
	return nil
}

// kick makes sure the background digest runs.
func (e *Era) kick() {
	e.qmu.Lock()
	defer e.qmu.Unlock()
	if e.bgRunning {
		return
	}
	e.bgRunning = true
	e.bgDone = make(chan struct{})
	go e.background(e.bgDone)
}

// background runs worker rounds while a digest has steps left and the
// worker is not stopped.
func (e *Era) background(done chan struct{}) {
	for {
		e.workMu.Lock()
		if e.suspended || e.dg.step == stepNone {
			e.qmu.Lock()
			e.bgRunning = false
			close(done)
			e.qmu.Unlock()
			e.workMu.Unlock()
			return
		}
		e.doWork(nil)
		e.workMu.Unlock()
	}
}

// waitBackground waits for the background digest to stop.
func (e *Era) waitBackground() {
	e.qmu.Lock()
	ch, running := e.bgDone, e.bgRunning
	e.qmu.Unlock()
	if running {
		<-ch
	}
}

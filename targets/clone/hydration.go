package clone

import (
	"errors"
	"math/bits"
	"time"

	"github.com/gdmsetup/gdmsetup/targets"
)

// startWorker starts background hydration if it is not running and c owns
// its metadata.
func (c *Clone) startWorker() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running || !c.owner {
		return
	}
	c.running, c.stop = true, false
	c.workerDone = make(chan struct{})
	go c.worker(c.workerDone)
}

// stopWorker stops background hydration and waits until no region is being
// hydrated (user writes included).
func (c *Clone) stopWorker() {
	c.mu.Lock()
	if c.running {
		c.stop = true
		c.cond.Broadcast()
		done := c.workerDone
		c.mu.Unlock()
		<-done
		c.copies.Wait()
		c.mu.Lock()
		c.running, c.stop = false, false
	}
	for c.inFlight > 0 {
		c.cond.Wait()
	}
	c.mu.Unlock()
}

// worker is the background hydration loop (do_hydration): while enabled it
// keeps up to hydration_threshold regions in flight, copying runs of up to
// hydration_batch_size contiguous unhydrated regions at a time, in region
// order from where it left off.
func (c *Clone) worker(done chan struct{}) {
	defer close(done)
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if c.stop {
			return
		}
		if r, n := c.nextBatch(); n > 0 {
			for i := r; i < r+n; i++ {
				c.busy[i] = make(chan struct{})
			}
			c.inFlight += uint32(n)
			c.offset = (r + n) % c.nrRegions
			c.copies.Add(1)
			go c.hydrate(r, n)
			continue
		}
		c.cond.Wait()
	}
}

// nextBatch finds the next run of regions to hydrate (mu held); n is 0
// when hydration may not start one now.
func (c *Clone) nextBatch() (r, n uint64) {
	if c.cur.Disabled || c.suspended || c.fresh || c.failed != nil || !c.owner ||
		c.inFlight >= c.cur.Threshold || c.nrHydrated == c.nrRegions {
		return 0, 0
	}
	max := uint64(max(c.cur.Batch, 1))
	max = min(max, uint64(c.cur.Threshold-c.inFlight))
	r, ok := c.findFree(c.offset)
	if !ok {
		return 0, 0
	}
	n = 1
	for n < max && r+n < c.nrRegions && !c.hydrated(r+n) && c.busy[r+n] == nil {
		n++
	}
	return r, n
}

// findFree returns the first unhydrated region not being hydrated at or
// after from, wrapping around once.
func (c *Clone) findFree(from uint64) (uint64, bool) {
	for pass := 0; pass < 2; pass++ {
		r := from
		end := c.nrRegions
		if pass == 1 {
			r, end = 0, from
		}
		for r < end {
			w := ^c.bitmap[r/64] >> (r % 64)
			if w == 0 {
				r = (r/64 + 1) * 64
				continue
			}
			r += uint64(bits.TrailingZeros64(w))
			if r >= end {
				break
			}
			if c.busy[r] == nil {
				return r, true
			}
			r++
		}
	}
	return 0, false
}

// hydrationRetryDelay is how long the regions of a failed copy stay in
// flight before the worker may pick them again: a source or destination
// that keeps failing is retried, as the kernel does, but not in a busy loop.
const hydrationRetryDelay = 100 * time.Millisecond

// hydrate copies regions [r, r+n) from the source to the destination. A
// failed copy is logged (hydration_kcopyd_callback) and leaves the regions
// unhydrated for a later pass.
func (c *Clone) hydrate(r, n uint64) {
	defer c.copies.Done()
	off, size := c.regionBytes(r, n)
	buf := make([]byte, size)
	_, err := c.src.ReadAt(buf, off)
	if err == nil {
		_, err = c.dest.WriteAt(buf, off)
	}
	if errors.Is(err, targets.ErrReleased) {
		// a suspended device under the clone, released as its registry
		// closes: not a failed copy
		c.finish(r, n, false)
		return
	}
	if err != nil {
		c.hydrationFailed()
		time.Sleep(hydrationRetryDelay)
		c.finish(r, n, false)
		return
	}
	c.finish(r, n, true)
	c.commitAfterCopy()
}

// commitAfterCopy is the worker's commit after a copy ended (the
// background's or one a write waited for): once the last region is
// hydrated and nothing is in flight, whichever copy ended last, it commits
// and raises the completion event (the kernel does so at its next periodic
// commit at the latest); otherwise it commits if due (commitIfDue). A
// failed commit has switched the clone to Fail mode, which the next I/O
// and status report.
func (c *Clone) commitAfterCopy() {
	c.mu.Lock()
	complete := c.nrHydrated == c.nrRegions && c.inFlight == 0
	c.mu.Unlock()
	if complete {
		_ = c.commit(false, true)
		return
	}
	_ = c.commitIfDue()
}

// hydrationFailedLog limits the "hydration failed" lines of all clones, as
// DMERR_LIMIT's one state per call site does.
var hydrationFailedLog targets.RateLimit

// hydrationFailed logs a failed region copy, rate-limited.
func (c *Clone) hydrationFailed() {
	if hydrationFailedLog.Allow(time.Now()) {
		c.ctx.Logf("clone: %s: hydration failed", c.ctx.DevName)
	}
}

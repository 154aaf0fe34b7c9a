package writecache

import "time"

// worker is the background goroutine of a live table: the autocommit
// timer, the max_age timer and the writeback work (which waits until the
// origin has seen no write around for pause_writeback, unless the cleaner,
// a flush or a suspend wants it at once). Its channels and timers are its
// own; what it does, it does under the Writecache's mu.
type worker struct {
	stop, done chan struct{}
	kick       chan struct{} // writeback queued (buffered, 1)
	autocommit *time.Timer
	maxAge     *time.Timer // nil without max_age
}

// armAutocommit makes the autocommit timer fire after d.
func (b *worker) armAutocommit(d time.Duration) { b.autocommit.Reset(d) }

// kickWriteback wakes the worker for queued writeback.
func (b *worker) kickWriteback() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// startWorker starts the background goroutine, with the timers and
// writeback the state asks for.
func (w *Writecache) startWorker() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.bg != nil || !w.loaded || w.suspended {
		return
	}
	b := &worker{stop: make(chan struct{}), done: make(chan struct{}), kick: make(chan struct{}, 1),
		autocommit: time.NewTimer(time.Hour)}
	b.autocommit.Stop()
	if w.autocommitArmed {
		b.autocommit.Reset(w.cfg.autocommit)
	}
	if w.cfg.maxAgeSet {
		b.maxAge = time.NewTimer(w.maxAgePeriod())
	}
	if w.wbQueued {
		b.kick <- struct{}{}
	}
	w.bg = b
	go w.run(b)
}

// stopWorker stops the background goroutine and waits for it.
func (w *Writecache) stopWorker() {
	w.mu.Lock()
	b := w.bg
	w.bg = nil
	w.mu.Unlock()
	if b == nil {
		return
	}
	close(b.stop)
	<-b.done
	b.autocommit.Stop()
	if b.maxAge != nil {
		b.maxAge.Stop()
	}
}

// maxAgeDiv is MAX_AGE_DIV: the max_age timer's period is max_age/16, and
// a block is written back once it is max_age - max_age/16 old.
const maxAgeDiv = 16

// jiffy is the kernel's timer tick (HZ=250): no timer fires sooner.
const jiffy = 4 * time.Millisecond

// maxAgePeriod is the max_age timer's period.
func (w *Writecache) maxAgePeriod() time.Duration { return max(w.cfg.maxAge/maxAgeDiv, jiffy) }

func (w *Writecache) run(b *worker) {
	defer close(b.done)
	var maxAgeC <-chan time.Time
	if b.maxAge != nil {
		maxAgeC = b.maxAge.C
	}
	for {
		select {
		case <-b.stop:
			return
		case <-b.autocommit.C:
			w.mu.Lock()
			if w.autocommitArmed && w.errno == 0 {
				w.flush()
			}
			w.mu.Unlock()
		case <-maxAgeC:
			w.mu.Lock()
			if !w.suspended && w.errno == 0 {
				w.queueWriteback()
			}
			w.mu.Unlock()
			b.maxAge.Reset(w.maxAgePeriod())
		case <-b.kick:
			if !w.waitPause(b) {
				return
			}
			w.mu.Lock()
			if w.wbQueued {
				w.wbQueued = false
				w.writeback()
			}
			w.mu.Unlock()
		}
	}
}

// waitPause waits until the origin has been idle for pause_writeback
// (unless the cleaner runs or everything is to be written back); false
// when the worker is stopped first.
func (w *Writecache) waitPause(b *worker) bool {
	for {
		w.mu.Lock()
		var wait time.Duration
		if !w.cleaner && w.writebackAll == 0 && !w.suspended {
			idle := time.Since(w.lastOriginWrite)
			if idle < w.cfg.pause {
				wait = min(w.cfg.pause-idle, time.Second)
			}
		}
		w.mu.Unlock()
		if wait == 0 {
			return true
		}
		select {
		case <-b.stop:
			return false
		case <-time.After(wait):
		}
	}
}

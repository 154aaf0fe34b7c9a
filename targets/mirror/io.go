package mirror

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/gdmsetup/gdmsetup/targets"
)

// The DMERR_LIMIT / DMWARN_LIMIT call sites: each has its own rate limit.
var (
	readRetryLimit, readFailLimit         targets.RateLimit
	recoveryReadLimit, recoveryWriteLimit targets.RateLimit
)

// ratelimited logs one line of a rate-limited call site.
func (m *Mirror) ratelimited(l *targets.RateLimit, format string, args ...any) {
	if l.Allow(time.Now()) {
		m.ctx.Logf(msgPrefix+format, args...)
	}
}

func (m *Mirror) offBytes(l *leg, sector uint64) int64 {
	return int64(l.startSector+sector) * targets.SectorSize
}

// WriteAt is mirror_map and do_writes for one write, which the core keeps
// inside a region. A write to a region being recovered waits for the
// recovery. In a region in sync the region is marked dirty in the log
// (a disk log writes and flushes itself first) and the write goes to
// every leg; a leg that fails it is failed (D) and the region falls out
// of sync. In a region out of sync it goes to the default leg only. Then
// what do_failures does: with handle_errors and without keep_log, after a
// leg failed, writes are held until the device suspends and then fail.
func (m *Mirror) WriteAt(p []byte, sector uint64) error { return m.write(p, sector, false) }

// WriteFUA is targets.FUAWriter: do_write sends every leg the write with
// the bio's REQ_FUA (dm_io's bi_opf), and a write out of sync goes to the
// default leg as the bio it is; the log is marked and flushed as for any
// write, nothing more.
func (m *Mirror) WriteFUA(p []byte, sector uint64) error { return m.write(p, sector, true) }

// write is WriteAt, or WriteFUA with fua.
func (m *Mirror) write(p []byte, sector uint64, fua bool) error {
	r := sector >> m.regionShift
	m.mu.Lock()
	defer m.unlock()
	for m.regionState(r) == rhRecovering {
		m.cond.Wait()
	}
	st := m.regionState(r)
	m.inc(r)
	defer m.dec(r)
	m.flushLog()
	inSync := st == rhClean || st == rhDirty
	switch {
	case inSync && m.logFailure && m.handleErrors:
		return m.failedWrite(r, opWrite)
	case inSync:
		errs := m.toLegs(func(l *leg) error { return targets.DevWrite(l.dev, p, m.offBytes(l, sector), fua) })
		if m.failLegs(errs, writeError) {
			return m.failedWrite(r, opWrite)
		}
		return nil
	case m.legFailure && m.handleErrors && !m.keepLog:
		return m.failedWrite(r, opWrite)
	}
	l := m.legs[m.defaultLeg]
	m.mu.Unlock()
	err := targets.DevWrite(l.dev, p, m.offBytes(l, sector), fua)
	m.mu.Lock()
	if err != nil {
		return fmt.Errorf("mirror %s: write of region %d on %s: %w", m.ctx.DevName, r, l.dev.Name(), err)
	}
	return nil
}

// toLegs runs do on every leg at once, without mu, and returns each leg's
// error. mu held on entry and on return.
func (m *Mirror) toLegs(do func(*leg) error) []error {
	m.mu.Unlock()
	defer m.mu.Lock()
	return m.eachLeg(do)
}

// failLegs fails each leg with an error (kind) and reports whether any had one.
func (m *Mirror) failLegs(errs []error, kind int) bool {
	failed := false
	for i, err := range errs {
		if err != nil {
			m.failLeg(i, kind)
			failed = true
		}
	}
	return failed
}

// writeOp is the kind of write bio do_failures handles.
type writeOp int

const (
	opWrite writeOp = iota
	opFlush
	opDiscard
)

// failedWrite is do_failures for one write that failed on a leg or was
// not tried for a failed log: unless the log failed, the set is out of
// sync and so is the region (a flush leaves every region written after it
// out of sync; a discard marks none). It fails when no leg is left, or
// the log failed with keep_log; with handle_errors and without keep_log
// it is held until the device suspends; otherwise it succeeds. mu held.
func (m *Mirror) failedWrite(r uint64, op writeOp) error {
	if !m.logFailure {
		m.inSync = false
		switch op {
		case opFlush:
			m.flushFailure = true
		case opWrite:
			m.markNoSync(r)
		}
	}
	if m.validLeg() < 0 || m.keepLog && m.logFailure {
		return fmt.Errorf("mirror %s: no leg left to write region %d: %w", m.ctx.DevName, r, syscall.EIO)
	}
	if m.handleErrors && !m.keepLog {
		return m.hold(r)
	}
	return nil
}

// hold is hold_bio: the write waits until the device suspends (or this
// process closes it). A noflush suspend sends it back to the core, which
// issues it again after the resume (to the table then live, typically one
// without the failed leg); any other suspend fails it with EIO. mu held.
func (m *Mirror) hold(r uint64) error {
	release := m.release
	if !m.suspended {
		m.mu.Unlock()
		<-release
		m.mu.Lock()
	}
	if m.ctx.NoflushSuspending() {
		return targets.ErrRequeue
	}
	return fmt.Errorf("mirror %s: write to region %d held after a leg failed, failed by the suspend: %w", m.ctx.DevName, r, syscall.EIO)
}

// ReadAt is mirror_map and do_reads for one read. A region the log has in
// sync is read from the first leg without errors from the default one
// backwards; one out of sync from the default leg only (none if it
// failed). A failed read fails its leg (R) and is retried on another leg
// while the default one is sound or the region is in sync with a leg
// left; otherwise it fails with EIO.
func (m *Mirror) ReadAt(p []byte, sector uint64) error {
	r := sector >> m.regionShift
	m.mu.Lock()
	defer m.unlock()
	mapped := m.log.inSync(r) // mirror_map remapped it; otherwise do_reads took it
	for {
		i := m.readLeg(r, mapped)
		if i < 0 {
			return fmt.Errorf("mirror %s: no leg to read region %d from: %w", m.ctx.DevName, r, syscall.EIO)
		}
		l := m.legs[i]
		m.mu.Unlock()
		_, err := l.dev.ReadAt(p, m.offBytes(l, sector))
		m.mu.Lock()
		if err == nil {
			return nil
		}
		if mapped {
			m.ctx.Logf(msgPrefix+"Mirror read failed from %s. Trying alternative device.", l.dev.Name())
		}
		m.failLeg(i, readError)
		if m.legs[m.defaultLeg].errorCount == 0 || m.log.inSync(r) && m.chooseLeg() >= 0 {
			if !mapped {
				m.ratelimited(&readRetryLimit, "Read failure on mirror device %s. Trying alternative device.", l.dev.Name())
			}
			mapped = false
			continue
		}
		if mapped {
			m.ctx.Logf(msgPrefix + "All replicated volumes dead, failing I/O")
		} else {
			m.ratelimited(&readFailLimit, "Read failure on mirror device %s.  Failing I/O.", l.dev.Name())
		}
		return fmt.Errorf("mirror %s: read of region %d on %s: %w", m.ctx.DevName, r, l.dev.Name(), err)
	}
}

// readLeg is the leg a read of region r goes to, -1 for none. mu held.
func (m *Mirror) readLeg(r uint64, mapped bool) int {
	if mapped {
		return m.chooseLeg()
	}
	if st := m.regionState(r); st == rhClean || st == rhDirty {
		return m.chooseLeg()
	}
	if m.legs[m.defaultLeg].errorCount > 0 {
		return -1
	}
	return m.defaultLeg
}

// chooseLeg is choose_mirror: from the default leg backwards (wrapping),
// the first without errors; -1 if none.
func (m *Mirror) chooseLeg() int {
	i := m.defaultLeg
	for {
		if m.legs[i].errorCount == 0 {
			return i
		}
		if i == 0 {
			i = len(m.legs)
		}
		i--
		if i == m.defaultLeg {
			return -1
		}
	}
}

// Discard goes to every leg (num_discard_bios 1, dm_io to all legs); a leg
// that fails it fails the discard with EOPNOTSUPP and degrades nothing.
func (m *Mirror) Discard(sector, lenSectors uint64) error {
	m.mu.Lock()
	defer m.unlock()
	m.flushLog()
	if m.logFailure && m.handleErrors {
		return m.failedWrite(sector>>m.regionShift, opDiscard)
	}
	errs := m.toLegs(func(l *leg) error {
		return l.dev.Discard(m.offBytes(l, sector), int64(lenSectors)*targets.SectorSize)
	})
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("mirror %s: discard of %d sectors at %d: %v: %w", m.ctx.DevName, lenSectors, sector, err, syscall.EOPNOTSUPP)
	}
	return nil
}

// Flush is an empty flush (num_flush_bios 1): the log written out if it
// changed, then every leg flushed; a leg that fails it is failed (D) and
// the flush handled as a failed write.
func (m *Mirror) Flush() error {
	m.mu.Lock()
	defer m.unlock()
	m.flushLog()
	if m.logFailure && m.handleErrors {
		return m.failedWrite(0, opFlush)
	}
	if m.failLegs(m.toLegs(func(l *leg) error { return l.dev.Flush() }), writeError) {
		return m.failedWrite(0, opFlush)
	}
	return nil
}

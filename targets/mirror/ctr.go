package mirror

import (
	"fmt"
	"math/bits"
	"sync"

	"github.com/gdmsetup/gdmsetup/targets"
)

// New is mirror_ctr, with the kernel's checks in its order: the log
// (create_dirty_log: its type, a sscanf'd argument count, then the log's
// own checks, logged by the log), the mirror count (2 to 9), two words
// per leg, each leg's offset (sscanf) before its device, then the feature
// group (handle_errors, keep_log; keep_log needs handle_errors) and no
// word after it. Every failure is EINVAL but a failed leg device lookup
// (its own errno).
//
// A table rebuilt live in a later process takes back the in-memory state
// its last process saved (SaveState) and resumes recovery where it was.
func New(ctx *targets.Context, args []string) (targets.Target, error) {
	if len(args) < 2 {
		return nil, targets.Invalid("Insufficient mirror log arguments")
	}
	nrLogArgs, ok := targets.ScanUint(args[1], 32)
	if !ok {
		return nil, targets.Invalid("Invalid mirror log argument count")
	}
	if nrLogArgs > uint64(len(args)-2) {
		return nil, targets.Invalid("Insufficient mirror log arguments")
	}
	log, err := newDirtyLog(ctx, args[0], args[2:2+nrLogArgs])
	if err != nil {
		return nil, err
	}
	args = args[2+nrLogArgs:]
	var nrMirrors uint64
	if len(args) > 0 {
		nrMirrors, ok = targets.ScanUint(args[0], 32)
	}
	if len(args) == 0 || !ok || nrMirrors < 2 || nrMirrors > maxMirrors {
		return nil, targets.Invalid("Invalid number of mirrors")
	}
	args = args[1:]
	if uint64(len(args)) < 2*nrMirrors {
		return nil, targets.Invalid("Too few mirror arguments")
	}
	m := &Mirror{ctx: ctx, lenSectors: ctx.Len, log: log, regions: map[uint64]*region{},
		regionShift: uint(bits.TrailingZeros32(log.regionSectors)), nrRegions: log.regionCount,
		release: make(chan struct{})}
	m.cond = sync.NewCond(&m.mu)
	for range nrMirrors {
		start, ok := targets.ScanUint(args[1], 64)
		if !ok {
			return nil, targets.Invalid("Invalid offset")
		}
		dev, err := ctx.Open(args[0])
		if err != nil {
			return nil, targets.Errorf(targets.OpenErrno(err), "Device lookup failure")
		}
		m.legs = append(m.legs, &leg{dev: dev, startSector: start})
		args = args[2:]
	}
	if args, err = m.parseFeatures(args); err != nil {
		return nil, err
	}
	if len(args) > 0 {
		return nil, targets.Invalid("Too many mirror arguments")
	}
	if !ctx.Restored || ctx.Inactive {
		// the kernel's first kmirrord run, before the table is bound: a
		// log all in sync (nosync) makes the set in sync, the event lost
		m.checkInSync()
		return m, nil
	}
	if err := m.restore(ctx.Saved); err != nil {
		return nil, targets.Invalid(fmt.Sprintf("saved state of %s: %v", ctx.DevName, err))
	}
	m.live = true
	if ctx.Suspended {
		m.suspended = true
		close(m.release)
	} else {
		m.mu.Lock()
		m.startRecovery()
		m.mu.Unlock()
	}
	return m, nil
}

// parseFeatures is parse_features: none, or a count (sscanf) and that many
// feature words; it returns the words after them.
func (m *Mirror) parseFeatures(args []string) ([]string, error) {
	if len(args) == 0 {
		return args, nil
	}
	n, ok := targets.ScanUint(args[0], 32)
	if !ok {
		return nil, targets.Invalid("Invalid number of features")
	}
	args = args[1:]
	if n > uint64(len(args)) {
		return nil, targets.Invalid("Not enough arguments to support feature count")
	}
	for _, f := range args[:n] {
		switch f {
		case "handle_errors":
			m.handleErrors = true
		case "keep_log":
			m.keepLog = true
		default:
			return nil, targets.Invalid("Unrecognised feature requested")
		}
	}
	if m.keepLog && !m.handleErrors {
		return nil, targets.Invalid("keep_log feature requires the handle_errors feature")
	}
	return args[n:], nil
}

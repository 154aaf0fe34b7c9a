package multipath

import (
	"fmt"
	"sync"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// New is multipath_ctr, with the kernel's checks in its order: the
// features, the hardware handler, the group count and the initial group,
// then each group (its selector, the path count and the per-path argument
// count, each path's device, handler and selector arguments), and the
// group count against the groups given. Every failure is EINVAL but a
// path device that cannot be opened (its errno) and a handler that cannot
// attach.
//
// A table rebuilt live in a later process takes back the paths' states,
// the groups and the selectors' orders its last process saved.
func New(ctx *targets.Context, args []string) (targets.Target, error) {
	m := &Multipath{ctx: ctx, lenSectors: ctx.Len, pgInitDelayMsecs: pgInitDelayDefault}
	m.cond = sync.NewCond(&m.mu)
	as := &targets.ArgSet{Args: args}
	if err := m.parseFeatures(as); err != nil {
		return nil, err
	}
	// alloc_multipath_stage2: bio-based multipath only discovers handlers
	if m.bioBased {
		m.retainHWHandler = true
	}
	m.queueIO = true
	if err := m.parseHWHandler(as); err != nil {
		return nil, err
	}
	nrPgs, err := as.ReadArg(0, 1024, "invalid number of priority groups")
	if err != nil {
		return nil, err
	}
	nextPgNum, err := as.ReadArg(0, 1024, "invalid initial priority group number")
	if err != nil {
		return nil, err
	}
	if (nrPgs == 0) != (nextPgNum == 0) {
		return nil, targets.Invalid("invalid initial priority group")
	}
	for as.Len() > 0 {
		pg, err := m.parsePriorityGroup(as)
		if err != nil {
			return nil, err
		}
		m.nrValidPaths += len(pg.paths)
		m.pgs = append(m.pgs, pg)
		pg.num = len(m.pgs)
		if nextPgNum--; nextPgNum == 0 {
			m.nextPg = pg
		}
	}
	if uint64(len(m.pgs)) != nrPgs {
		return nil, targets.Invalid("priority group count mismatch")
	}
	if ctx.Restored && !ctx.Inactive && ctx.Saved != "" {
		if err := m.restore(ctx.Saved); err != nil {
			return nil, targets.Invalid(fmt.Sprintf("saved state of %s: %v", ctx.DevName, err))
		}
	}
	m.suspended = ctx.Restored && ctx.Suspended
	return m, nil
}

// parseFeatures is parse_features: a count (0 to 8, no more than the
// words left) and the features, their names in any case.
func (m *Multipath) parseFeatures(as *targets.ArgSet) error {
	n, err := as.ReadArgGroup(0, 8, "invalid number of feature args")
	if err != nil {
		return err
	}
	for n > 0 {
		name, _ := as.Shift()
		n--
		switch f := targets.LowerASCII(name); {
		case f == "queue_if_no_path":
			m.queueIfNoPath = true
		case f == "retain_attached_hw_handler":
			m.retainHWHandler = true
		case f == "pg_init_retries" && n >= 1:
			v, err := as.ReadArg(1, 50, "pg_init_retries must be between 1 and 50")
			if err != nil {
				return err
			}
			m.pgInitRetries = uint32(v)
			n--
		case f == "pg_init_delay_msecs" && n >= 1:
			v, err := as.ReadArg(0, 60000, "pg_init_delay_msecs must be between 0 and 60000")
			if err != nil {
				return err
			}
			m.pgInitDelayMsecs = uint32(v)
			n--
		case f == "queue_mode" && n >= 1:
			mode, _ := as.Shift()
			n--
			switch targets.LowerASCII(mode) {
			case "bio":
				m.bioBased = true
			case "rq", "mq":
				m.bioBased = false
			default:
				return targets.Invalid("Unknown 'queue_mode' requested")
			}
		default:
			return targets.Invalid("Unrecognised multipath feature request")
		}
	}
	return nil
}

// parseHWHandler is parse_hw_handler: a count (0 to 1024) and the
// handler's name and arguments. Bio-based multipath takes none: they are
// skipped with the kernel's error line.
func (m *Multipath) parseHWHandler(as *targets.ArgSet) error {
	n, err := as.ReadArgGroup(0, 1024, "invalid number of hardware handler args")
	if err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	if m.bioBased {
		as.Args = as.Args[n:]
		m.ctrLogf(msgPrefix + "bio-based multipath doesn't allow hardware handler args")
		return nil
	}
	m.hwHandler, _ = as.Shift()
	as.Args = as.Args[n-1:]
	return nil
}

// parsePriorityGroup is parse_priority_group: the selector with its
// arguments (which the three selectors ignore), the path count (1 to
// 1024), the per-path argument count (0 to 1024), then each path.
func (m *Multipath) parsePriorityGroup(as *targets.ArgSet) (*priorityGroup, error) {
	if as.Len() < 2 {
		return nil, targets.Invalid("not enough priority group arguments")
	}
	name, _ := as.Shift()
	st := lookupSelector(name)
	if st == nil {
		return nil, targets.Invalid("unknown path selector type")
	}
	nSelArgs, err := as.ReadArgGroup(0, 1024, "invalid number of path selector args")
	if err != nil {
		return nil, err
	}
	as.Args = as.Args[nSelArgs:]
	pg := &priorityGroup{selType: st, sel: st.new()}
	nrPaths, err := as.ReadArg(1, 1024, "invalid number of paths")
	if err != nil {
		return nil, err
	}
	nrPathArgs, err := as.ReadArg(0, 1024, "invalid number of selector args")
	if err != nil {
		return nil, err
	}
	for range nrPaths {
		if uint64(as.Len()) < 1+nrPathArgs {
			return nil, targets.Invalid("not enough path parameters")
		}
		p, err := m.parsePath(as.Args[0], as.Args[1:1+nrPathArgs], pg)
		if err != nil {
			return nil, err
		}
		pg.paths = append(pg.paths, p)
		as.Args = as.Args[1+nrPathArgs:]
	}
	return pg, nil
}

// parsePath is parse_path: the path's device opened, a hardware handler
// attached (which needs a SCSI device: scsi_dh_attach fails with ENODEV
// whatever the handler's name), the selector's path arguments.
func (m *Multipath) parsePath(devPath string, args []string, pg *priorityGroup) (*pgpath, error) {
	dev, err := m.ctx.Open(devPath)
	if err != nil {
		return nil, targets.Errorf(targets.OpenErrno(err), "error getting device")
	}
	if m.hwHandler != "" {
		return nil, targets.Errorf(syscall.ENODEV, "error attaching hardware handler")
	}
	p := &pgpath{dev: dev, pg: pg, active: true}
	if err := pg.sel.addPath(p, args, m.ctrLogf); err != nil {
		return nil, err
	}
	return p, nil
}

// ctrLogf logs a line of the constructor's that is no failure (a warning):
// a table rebuilt in a later process logged it when it was loaded.
func (m *Multipath) ctrLogf(format string, args ...any) {
	if !m.ctx.Restored {
		m.ctx.Logf(format, args...)
	}
}

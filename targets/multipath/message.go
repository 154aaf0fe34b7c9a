package multipath

import (
	"fmt"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Message is multipath_message: refused with EBUSY while the device is
// suspended; queue_if_no_path and fail_if_no_path alone; else two words:
// disable_group N, enable_group N, switch_group N (N from 1), fail_path
// DEV, reinstate_path DEV (every path on DEV). Words are matched in any
// case. Bad ones fail with EINVAL and the kernel's warning; a DEV that
// cannot be opened with its own errno.
func (m *Multipath) Message(args []string) (string, error) {
	m.mu.Lock()
	defer m.unlock()
	if m.suspended {
		return "", fmt.Errorf("multipath %s: message while suspended: %w", m.ctx.DevName, syscall.EBUSY)
	}
	if len(args) == 1 {
		switch targets.LowerASCII(args[0]) {
		case "queue_if_no_path":
			m.setQueueIfNoPath(true, false)
			return "", nil
		case "fail_if_no_path":
			m.setQueueIfNoPath(false, false)
			return "", nil
		}
	}
	if len(args) != 2 {
		m.ctx.Logf(msgPrefix+"Invalid multipath message arguments. Expected 2 arguments, got %d.", len(args))
		return "", syscall.EINVAL
	}
	switch targets.LowerASCII(args[0]) {
	case "disable_group", "enable_group":
		pg, err := m.pgByNum(args[1], "bypass_pg")
		if err != nil {
			return "", err
		}
		pg.bypassed = targets.LowerASCII(args[0]) == "disable_group"
		m.currentPgpath, m.currentPg = nil, nil
		m.event()
		return "", nil
	case "switch_group":
		pg, err := m.pgByNum(args[1], "switch_pg_num")
		if err != nil {
			return "", err
		}
		for _, x := range m.pgs {
			x.bypassed = false
		}
		m.currentPgpath, m.currentPg, m.nextPg = nil, nil, pg
		m.event()
		return "", nil
	case "reinstate_path":
		return "", m.actionDev(args[1], m.reinstatePath)
	case "fail_path":
		return "", m.actionDev(args[1], m.failPath)
	}
	m.ctx.Logf(msgPrefix+"Unrecognised multipath message received: %s", args[0])
	return "", syscall.EINVAL
}

// pgByNum is the group numbered s (sscanf "%u", 1 to the group count);
// otherwise EINVAL with the warning of the kernel's function fn.
func (m *Multipath) pgByNum(s, fn string) (*priorityGroup, error) {
	n, ok := targets.ScanUint(s, 32)
	if !ok || n == 0 || n > uint64(len(m.pgs)) {
		m.ctx.Logf(msgPrefix+"invalid PG number supplied to %s", fn)
		return nil, fmt.Errorf("multipath %s: priority group %q: %w", m.ctx.DevName, s, syscall.EINVAL)
	}
	return m.pgs[n-1], nil
}

// actionDev is action_dev: action on every path whose device is devPath
// (opened as dm_get_device would); EINVAL when none is.
func (m *Multipath) actionDev(devPath string, action func(*pgpath)) error {
	dev, err := m.ctx.Open(devPath)
	if err != nil {
		m.ctx.Logf(msgPrefix+"message: error getting device %s", devPath)
		return fmt.Errorf("multipath %s: %w", m.ctx.DevName, err)
	}
	found := false
	for _, pg := range m.pgs {
		for _, p := range pg.paths {
			if p.dev.Name() == dev.Name() {
				action(p)
				found = true
			}
		}
	}
	if !found {
		return fmt.Errorf("multipath %s: %s is not a path: %w", m.ctx.DevName, devPath, syscall.EINVAL)
	}
	return nil
}

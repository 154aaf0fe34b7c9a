package multipath

import (
	"encoding/json"
	"fmt"
	"strings"
)

// savedPrefix starts a saved multipath state: its format's name and version.
const savedPrefix = "multipath-v1:"

// savedState is what the kernel keeps in memory for a live multipath
// target: the flags, the current and next groups and path (numbered from
// 1 in table order, 0 for none), and per group whether it is disabled,
// its paths' states and fail counts and its selector's two lists (path
// indices within the group).
type savedState struct {
	QueueIO, QueueIfNoPath, SavedQueueIfNoPath bool
	CurrentPg, NextPg, CurrentPath             int
	Groups                                     []savedGroup
}

type savedGroup struct {
	Bypassed      bool
	Active        []bool
	FailCounts    []uint32
	Valid, Failed []int
}

// SaveState is targets.StateSaver: the state a later process's rebuild of
// the live table takes back (no I/O is in flight by then: the selectors'
// in-flight counts are 0).
func (m *Multipath) SaveState() string {
	m.mu.Lock()
	defer m.unlock()
	st := savedState{QueueIO: m.queueIO, QueueIfNoPath: m.queueIfNoPath, SavedQueueIfNoPath: m.savedQueueIfNoPath}
	for i, pg := range m.pgs {
		if pg == m.currentPg {
			st.CurrentPg = i + 1
		}
		if pg == m.nextPg {
			st.NextPg = i + 1
		}
		g := savedGroup{Bypassed: pg.bypassed}
		for j, p := range pg.paths {
			g.Active = append(g.Active, p.active)
			g.FailCounts = append(g.FailCounts, p.failCount)
			if p == m.currentPgpath {
				st.CurrentPath = pathNumber(m.pgs[:i]) + j + 1
			}
		}
		l := pg.sel.lists()
		g.Valid, g.Failed = indices(pg, l.valid), indices(pg, l.failed)
		st.Groups = append(st.Groups, g)
	}
	b, _ := json.Marshal(st) // plain values: cannot fail
	return savedPrefix + string(b)
}

// pathNumber counts the paths of pgs.
func pathNumber(pgs []*priorityGroup) int {
	n := 0
	for _, pg := range pgs {
		n += len(pg.paths)
	}
	return n
}

// indices gives the positions in pg of the paths of list.
func indices(pg *priorityGroup, list []*pgpath) []int {
	out := make([]int, 0, len(list))
	for _, p := range list {
		for j, q := range pg.paths {
			if p == q {
				out = append(out, j)
			}
		}
	}
	return out
}

// restore takes back what SaveState gave, after checking it fits this
// table: as many groups and paths, each path in exactly one of its
// selector's lists, on the one that matches its state. mu not held: the
// target is not shared yet.
func (m *Multipath) restore(saved string) error {
	body, ok := strings.CutPrefix(saved, savedPrefix)
	if !ok {
		return fmt.Errorf("not a saved multipath state (no %q)", savedPrefix)
	}
	var st savedState
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		return fmt.Errorf("saved multipath state: %w", err)
	}
	nrPaths := pathNumber(m.pgs)
	if len(st.Groups) != len(m.pgs) || st.CurrentPg < 0 || st.CurrentPg > len(m.pgs) || st.NextPg < 0 ||
		st.NextPg > len(m.pgs) || st.CurrentPath < 0 || st.CurrentPath > nrPaths {
		return fmt.Errorf("saved multipath state has %d groups (current %d, next %d, path %d), the table %d groups and %d paths",
			len(st.Groups), st.CurrentPg, st.NextPg, st.CurrentPath, len(m.pgs), nrPaths)
	}
	m.nrValidPaths = 0
	for i, g := range st.Groups {
		pg := m.pgs[i]
		n := len(pg.paths)
		if len(g.Active) != n || len(g.FailCounts) != n || len(g.Valid)+len(g.Failed) != n {
			return fmt.Errorf("saved multipath state has %d paths in group %d, the table %d", len(g.Active), i+1, n)
		}
		l := pg.sel.lists()
		l.valid, l.failed = nil, nil
		seen := make([]bool, n)
		for _, x := range [][]int{g.Valid, g.Failed} {
			for _, j := range x {
				if j < 0 || j >= n || seen[j] {
					return fmt.Errorf("saved multipath state lists path %d of group %d twice or out of range", j, i+1)
				}
				seen[j] = true
			}
		}
		for _, j := range g.Valid {
			if !g.Active[j] {
				return fmt.Errorf("saved multipath state has failed path %d of group %d among the usable ones", j, i+1)
			}
			l.valid = append(l.valid, pg.paths[j])
		}
		for _, j := range g.Failed {
			if g.Active[j] {
				return fmt.Errorf("saved multipath state has usable path %d of group %d among the failed ones", j, i+1)
			}
			l.failed = append(l.failed, pg.paths[j])
		}
		pg.bypassed = g.Bypassed
		for j, p := range pg.paths {
			p.active, p.failCount = g.Active[j], g.FailCounts[j]
			if p.active {
				m.nrValidPaths++
			}
			if pathNumber(m.pgs[:i])+j+1 == st.CurrentPath {
				m.currentPgpath = p
			}
		}
	}
	m.currentPg, m.nextPg = nil, nil
	if st.CurrentPg > 0 {
		m.currentPg = m.pgs[st.CurrentPg-1]
	}
	if st.NextPg > 0 {
		m.nextPg = m.pgs[st.NextPg-1]
	}
	m.queueIO, m.queueIfNoPath, m.savedQueueIfNoPath = st.QueueIO, st.QueueIfNoPath, st.SavedQueueIfNoPath
	return nil
}

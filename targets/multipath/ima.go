package multipath

import (
	"fmt"
	"strings"
)

// Measure is multipath_status's STATUSTYPE_IMA: per priority group its
// state, path count and selector, per path its device, state, fail count
// and "path_selector_status_G_P=" with the selector's status of the path,
// which round-robin, queue-length and service-time all leave empty for
// STATUSTYPE_IMA.
func (m *Multipath) Measure() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%s,nr_priority_groups=%d", Type.MeasureHead(), len(m.pgs))
	for g, pg := range m.pgs {
		fmt.Fprintf(&b, ",pg_state_%d=%c,nr_pgpaths_%d=%d,path_selector_name_%d=%s", g, m.pgState(pg), g, len(pg.paths), g, pg.selType.name)
		for i, p := range pg.paths {
			fmt.Fprintf(&b, ",path_name_%d_%d=%s,is_active_%d_%d=%c,fail_count_%d_%d=%d,path_selector_status_%d_%d=",
				g, i, p.dev.Name(), g, i, p.state(), g, i, p.failCount, g, i)
		}
	}
	b.WriteByte(';')
	return b.String()
}

// pgState is a group's status character: 'D' bypassed (disabled), 'A'
// the current group, else 'E' (enabled). The caller holds m.mu.
func (m *Multipath) pgState(pg *priorityGroup) byte {
	switch {
	case pg.bypassed:
		return 'D'
	case pg == m.currentPg:
		return 'A'
	}
	return 'E'
}

// state is a path's status character: 'A' active, 'F' failed. The caller
// holds Multipath.mu.
func (p *pgpath) state() byte {
	if p.active {
		return 'A'
	}
	return 'F'
}

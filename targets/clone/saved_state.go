package clone

import (
	"encoding/json"
	"time"
)

// savedState is what the kernel keeps in struct clone while the table is
// live and the metadata does not hold: the hydration settings, where
// background hydration looks next, where the metadata space map allocates
// next (its cursor lives as long as the table's space map, and decides
// which blocks the next commit's shadows take), and when the worker last
// committed (see commitIfDue). Whether the table is suspended is the
// device's own state (targets.Context.Suspended).
type savedState struct {
	settings
	HydrationOffset uint64 `json:"hydration_offset"`
	MetaCursor      uint64 `json:"meta_alloc_cursor"`
	LastCommitNs    int64  `json:"last_worker_commit_unix_ns"`
}

// SaveState is targets.StateSaver: the table's in-core state for the
// process that rebuilds it next. The core calls it after StopBackground,
// which committed what this process changed.
func (c *Clone) SaveState() string {
	c.commitMu.Lock()
	cursor := c.md.sm.AllocCursor()
	c.commitMu.Unlock()
	c.mu.Lock()
	s := savedState{settings: c.cur, HydrationOffset: c.offset, MetaCursor: cursor, LastCommitNs: c.lastCommit.UnixNano()}
	c.mu.Unlock()
	b, _ := json.Marshal(s)
	return string(b)
}

// restoreState takes back what SaveState gave (a restored table, before its
// worker starts). Without it (or with one that does not parse), the
// settings come from an old superblock's record if there is one, else from
// the table's arguments, and the rest starts afresh.
func (c *Clone) restoreState(saved string) {
	var s savedState
	if saved == "" || json.Unmarshal([]byte(saved), &s) != nil {
		if c.md.legacy != nil {
			c.cur = *c.md.legacy
		}
		return
	}
	c.cur = s.settings
	if s.HydrationOffset < c.nrRegions {
		c.offset = s.HydrationOffset
	}
	c.md.sm.SetAllocCursor(s.MetaCursor)
	c.lastCommit = time.Unix(0, s.LastCommitNs)
}

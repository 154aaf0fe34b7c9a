package snapshot

import (
	"encoding/json"
	"fmt"
)

// savedState is what a snapshot keeps across gdmsetup's processes that the
// COW device does not hold: the in-memory flags, and for the transient
// store its exceptions and allocation cursor.
type savedState struct {
	Invalid     bool `json:"invalid,omitempty"`
	Overflowed  bool `json:"overflowed,omitempty"`
	MergeFailed bool `json:"merge_failed,omitempty"`
	// NotResumed: a live table whose resume failed (a handover it waits
	// for was refused): not active, still a handover destination.
	NotResumed bool `json:"not_resumed,omitempty"`
	// Merging: a snapshot-merge whose merge the end of a process stopped
	// before it was over; the next process goes on with it.
	Merging    bool        `json:"merging,omitempty"`
	NextFree   uint64      `json:"next_free_sectors,omitempty"`
	Exceptions [][2]uint64 `json:"exceptions,omitempty"` // old chunk, new chunk
}

// SaveState is targets.StateSaver.
func (s *Snapshot) SaveState() string { return s.savedState().encode() }

// savedState is what SaveState records of s.
func (s *Snapshot) savedState() savedState {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := savedState{Invalid: !s.valid, Overflowed: s.overflowed, MergeFailed: s.mergeFailed, NotResumed: !s.active}
	if tc, ok := s.store.(*transient); ok {
		st.NextFree, _, _ = tc.usage()
		for o, n := range s.exceptions {
			st.Exceptions = append(st.Exceptions, [2]uint64{o, n})
		}
	}
	return st
}

// encode is the saved state as the core stores it.
func (st savedState) encode() string {
	b, _ := json.Marshal(st)
	return string(b)
}

// restore applies saved state to a snapshot being rebuilt.
func (s *Snapshot) restore(saved string) error {
	var st savedState
	if err := json.Unmarshal([]byte(saved), &st); err != nil {
		return fmt.Errorf("saved state %q: %w", saved, err)
	}
	s.valid, s.overflowed, s.mergeFailed = !st.Invalid, st.Overflowed, st.MergeFailed
	s.notResumed, s.restartMerge = st.NotResumed, st.Merging
	tc, ok := s.store.(*transient)
	if !ok {
		return nil
	}
	if tc.chunk == 0 || st.NextFree%tc.chunk != 0 {
		return fmt.Errorf("saved state: next free sector %d is not a multiple of the chunk size %d", st.NextFree, tc.chunk)
	}
	for _, e := range st.Exceptions {
		if e[1] >= st.NextFree/tc.chunk {
			return fmt.Errorf("saved state: exception %d -> %d beyond the allocated chunks", e[0], e[1])
		}
		s.exceptions[e[0]] = e[1]
	}
	tc.setNextFree(st.NextFree)
	return nil
}

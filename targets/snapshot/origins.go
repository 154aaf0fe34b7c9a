package snapshot

import (
	"sync"
)

// origins is the kernel's _origins hash: for every origin device (by its
// Dev name, "253:N" or a file's path) the snapshots of it built in this
// process, largest chunk size first and, among equals, in the order they
// were registered (or last resumed). The RWMutex is _origins_lock: it
// guards byDev; writes through an origin hold it for reading while they
// pick the snapshots to copy into (each counted in its inflight).
var origins struct {
	sync.RWMutex
	byDev map[string][]*Snapshot
}

func init() { origins.byDev = map[string][]*Snapshot{} }

// insertLocked puts s into its origin's list by chunk size (__insert_snapshot).
func insertLocked(s *Snapshot) {
	key := s.origin.Name()
	list := origins.byDev[key]
	cs := s.chunkSectors()
	i := 0
	for i < len(list) && list[i].chunkSectors() >= cs {
		i++
	}
	list = append(list, nil)
	copy(list[i+1:], list[i:])
	list[i] = s
	origins.byDev[key] = list
}

// removeLocked takes s out of its origin's list.
func removeLocked(s *Snapshot) {
	key := s.origin.Name()
	list := origins.byDev[key]
	for i, x := range list {
		if x == s {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(origins.byDev, key)
	} else {
		origins.byDev[key] = list
	}
}

// sharingCOWLocked is __find_snapshots_sharing_cow: of the snapshots of
// s's origin on s's COW device, the active one (src, a handover source)
// and an inactive one (dest, waiting for a handover), and how many there
// are.
func sharingCOWLocked(s *Snapshot) (count int, src, dest *Snapshot) {
	count, src, dest, _ = sharingLocked(s)
	return count, src, dest
}

// sharingLocked is sharingCOWLocked that also finds a merging snapshot of
// s's origin (snap_merge).
func sharingLocked(s *Snapshot) (count int, src, dest, merge *Snapshot) {
	for _, x := range origins.byDev[s.origin.Name()] {
		if x.merge {
			merge = x
		}
		if x.cow.Name() != s.cow.Name() {
			continue
		}
		if x.isActive() {
			src = x
		} else {
			dest = x
		}
		count++
	}
	return count, src, dest, merge
}

// register is register_snapshot with __validate_exception_handover: it
// adds s to its origin's list and reports whether s is a handover
// destination (an active snapshot on the same COW device exists: s takes
// its exceptions when s is resumed). msg is ti->error on failure. A live
// table rebuilt in a later process (live) is only added.
func register(s *Snapshot, live bool) (handover bool, msg string) {
	origins.Lock()
	defer origins.Unlock()
	if live {
		insertLocked(s)
		return false, ""
	}
	count, src, dest, merge := sharingLocked(s)
	if count == 2 || dest != nil {
		return false, "Snapshot cow pairing for exception table handover failed"
	}
	if src != nil && s.merge {
		if merge != nil {
			return false, "A snapshot is already merging."
		}
		src.mu.RLock()
		persistent := src.store.persistent()
		src.mu.RUnlock()
		if !persistent {
			return false, "Snapshot exception store does not support snapshot-merge."
		}
	}
	insertLocked(s)
	return src != nil, ""
}

// unregister takes s out of the registry, once no origin write uses it.
func unregister(s *Snapshot) {
	origins.Lock()
	defer origins.Unlock()
	removeLocked(s)
}

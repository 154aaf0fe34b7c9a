package snapshot

import "time"

// SetMergeGrace sets how long the end of a process lets a merge run on,
// for one test; the returned func restores it.
func SetMergeGrace(d time.Duration) (restore func()) {
	old := mergeGrace
	mergeGrace = d
	return func() { mergeGrace = old }
}

package snapshot

import (
	"fmt"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Measure is snapshot_status's STATUSTYPE_IMA for snapshot and
// snapshot-merge lines: the origin and COW devices, then whether the
// snapshot is valid, its merge failed and it overflowed. (A
// snapshot-origin line measures as "".)
func (s *Snapshot) Measure() string {
	typ := &Type
	if s.merge {
		typ = &MergeType
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return fmt.Sprintf("%s,snap_origin_name=%s,snap_cow_name=%s,snap_valid=%c,snap_merge_failed=%c,snapshot_overflowed=%c;",
		typ.MeasureHead(), s.origin.Name(), s.cow.Name(),
		targets.MeasureFlag(s.valid), targets.MeasureFlag(s.mergeFailed), targets.MeasureFlag(s.overflowed))
}

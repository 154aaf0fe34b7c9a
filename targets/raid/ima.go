package raid

import (
	"fmt"
	"strings"
)

// Measure is raid_status's STATUSTYPE_IMA: the raid type the array's
// level and layout name, its member count, its sync action, each
// member's health character and, for raid4/5/6, the journal mode
// (writethrough also without a journal, as the kernel's zeroed mode).
//
// The kernel prints the health characters with the in-sync and
// resyncing flags that its last STATUSTYPE_INFO left; gdmsetup takes
// them from an INFO status made now (its words 1, 2 and 4), which is the
// same whenever `dmsetup status` ran since the array last changed state.
func (r *Raid) Measure() string {
	words := strings.Fields(r.Status())
	r.mu.Lock()
	rt := raidTypeByLevelLayout(r.rt.level, r.layout)
	writeBack := r.journalWriteBack
	r.mu.Unlock()
	if rt == nil || len(words) < 5 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s,raid_type=%s,raid_disks=%s,raid_state=%s", Type.MeasureHead(), rt.name, words[1], words[4])
	for i, c := range []byte(words[2]) {
		fmt.Fprintf(&b, ",raid_device_%d_status=%c", i, c)
	}
	if rt.level >= 4 && rt.level <= 6 {
		mode := "writethrough"
		if writeBack {
			mode = "writeback"
		}
		fmt.Fprintf(&b, ",journal_dev_mode=%s", mode)
	}
	b.WriteByte(';')
	return b.String()
}

package thin

import "github.com/gdmsetup/gdmsetup/targets/thinpool"

// Measure is dm-thin's STATUSTYPE_IMA for a thin device: "Fail" while its
// pool is in fail mode (thin_status checks that before the status type),
// else nothing. The pool itself measures as "".
func (t *Thin) Measure() string {
	if t.pool.Mode() == thinpool.ModeFail {
		return "Fail"
	}
	return ""
}

package mirror

import (
	"fmt"
	"strings"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Measure is mirror_status's STATUSTYPE_IMA: the legs with their health
// characters, the features as y/n, then "log_type_status=" with the dirty
// log's status, which both log types (core_status, disk_status) leave
// empty for STATUSTYPE_IMA.
func (m *Mirror) Measure() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%s,nr_mirrors=%d", Type.MeasureHead(), len(m.legs))
	for i, l := range m.legs {
		fmt.Fprintf(&b, ",mirror_device_%d=%s,mirror_device_%d_status=%c", i, l.dev.Name(), i, l.status())
	}
	fmt.Fprintf(&b, ",handle_errors=%c,keep_log=%c,log_type_status=;",
		targets.MeasureFlag(m.handleErrors), targets.MeasureFlag(m.keepLog))
	return b.String()
}

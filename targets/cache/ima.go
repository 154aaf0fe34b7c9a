package cache

import (
	"fmt"
	"strings"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Measure is dm-cache's STATUSTYPE_IMA: the metadata mode (rw, ro or
// fail), the three devices, the I/O mode as three y/n flags, metadata2
// and no_discard_passdown.
func (c *Cache) Measure() string {
	c.mu.Lock()
	mode := c.st.Mode
	c.mu.Unlock()
	var b strings.Builder
	b.WriteString(Type.MeasureHead())
	b.WriteString([...]string{modeWrite: ",metadata_mode=rw", modeReadOnly: ",metadata_mode=ro", modeFail: ",metadata_mode=fail"}[mode])
	fmt.Fprintf(&b, ",cache_metadata_device=%s,cache_device=%s,cache_origin_device=%s", c.meta.Name(), c.cdev.Name(), c.origin.Name())
	fmt.Fprintf(&b, ",writethrough=%c,writeback=%c,passthrough=%c,metadata2=%c,no_discard_passdown=%c;",
		targets.MeasureFlag(c.writethrough()), targets.MeasureFlag(c.writeback()), targets.MeasureFlag(c.passthrough()), targets.MeasureFlag(c.feat.metadataVersion == 2), targets.MeasureFlag(!c.feat.discardPassdown))
	return b.String()
}

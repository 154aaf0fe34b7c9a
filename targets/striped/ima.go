package striped

import (
	"fmt"
	"strings"
)

// Measure is dm-stripe's STATUSTYPE_IMA: the stripe count, the chunk size
// in sectors, then for each stripe its device, offset and health.
func (s *Striped) Measure() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s,stripes=%d,chunk_size=%d", Type.MeasureHead(), len(s.stripes), s.chunkSectors)
	for i, st := range s.stripes {
		fmt.Fprintf(&b, ",stripe_%d_device_name=%s,stripe_%d_physical_start=%d,stripe_%d_status=%c",
			i, st.dev.Name(), i, st.startSector, i, st.health())
	}
	b.WriteByte(';')
	return b.String()
}

// health is the stripe's status character: 'D' once an I/O on it failed,
// else 'A'.
func (st *stripe) health() byte {
	if st.errors.Load() > 0 {
		return 'D'
	}
	return 'A'
}

package dm

import (
	"fmt"
	"syscall"

	"github.com/gdmsetup/gdmsetup/errno"
)

// ReadAheadAuto is libdm's DM_READ_AHEAD_AUTO: leave the read-ahead the
// kernel set.
const ReadAheadAuto = ^uint32(0)

// pageSectors is the sectors in a page, the unit the kernel keeps the
// read-ahead in (bdi->ra_pages).
const pageSectors = 4096 / 512

// SetReadAhead sets the read-ahead of a device that has gone live, as libdm
// does after a resume given --readahead: through the queue's read_ahead_kb,
// so sectors round up to whole KiB and then down to whole pages. With
// minimum, a read-ahead of at least sectors already is kept; ReadAheadAuto
// changes nothing. The next table swap sets the read-ahead its limits give
// again. A device that never went live has no node to set it through
// (ENXIO).
func (r *Registry) SetReadAhead(name string, sectors uint32, minimum bool) error {
	d, ok := r.Lookup(name)
	if !ok || d.st.Live == nil {
		return noNodeError(name)
	}
	if sectors == ReadAheadAuto || minimum && d.st.readAhead() >= uint64(sectors) {
		return nil
	}
	kib := (sectors + 1) / 2
	ra := uint64(kib/(pageSectors/2)) * pageSectors
	d.st.ReadAhead = &ra
	return nil
}

// noNodeError is the failure to open the node of a device that never went
// live (libdm's line, naming the node).
type noNodeError string

func (e noNodeError) Error() string {
	return fmt.Sprintf("/dev/mapper/%s: open failed: %s", string(e), errno.Text(syscall.ENXIO))
}

func (e noNodeError) Unwrap() error { return syscall.ENXIO }

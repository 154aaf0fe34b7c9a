package dm

import "github.com/gdmsetup/gdmsetup/targets"

// StatusType is which string of each target a table's lines carry: the
// kernel's status_type_t, chosen by the flags of the table-status ioctl.
type StatusType int

const (
	// StatusTable is STATUSTYPE_TABLE (DM_STATUS_TABLE_FLAG): `dmsetup table`.
	StatusTable StatusType = iota
	// StatusInfo is STATUSTYPE_INFO: `dmsetup status`.
	StatusInfo
	// StatusIMA is STATUSTYPE_IMA (DM_IMA_MEASUREMENT_FLAG): `dmsetup measure`.
	StatusIMA
)

// of is target's string of this type; a target that is no
// targets.Measurer measures as "".
func (typ StatusType) of(target targets.Target) string {
	switch typ {
	case StatusInfo:
		return target.Status()
	case StatusIMA:
		if m, ok := target.(targets.Measurer); ok {
			return m.Measure()
		}
		return ""
	}
	return target.Table()
}

package dm

import (
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// requestBaseder is a target that sets its table's type (dm_table_set_type
// in a constructor): request-based when RequestBased says so (multipath
// unless queue_mode bio); every other table is bio-based.
type requestBaseder interface {
	RequestBased() bool
}

// The kernel's enum dm_queue_mode values, as its log prints them.
const (
	queueModeBio     = 1
	queueModeRequest = 2
)

// checkType is what table_load checks of a new table's type once its
// targets are built (dm_table_complete's dm_table_determine_type, then
// the immutable target type and the device's type): a request-based
// table has one target and maps only onto request-stackable devices (disks, and mapped
// devices that are request-based themselves); a device whose live table
// has an immutable target takes only that type again (or an error
// target); a device keeps the type of its first table (a table of error
// targets, which work either way, takes the device's). It logs the
// kernel's lines and returns the errno of a refusal, and the table's
// type (request-based or not) otherwise.
func (r *Registry) checkType(d *Device, t *Table) (requestBased bool, e syscall.Errno) {
	hybrid := len(t.entries) > 0
	for _, x := range t.entries {
		if rb, ok := x.target.(requestBaseder); ok && rb.RequestBased() {
			requestBased = true
		}
		hybrid = hybrid && x.typ.Name == "error"
	}
	if hybrid && d.st.Typed {
		// error targets work either way: the table takes the device's type
		requestBased = d.st.RequestBased
	}
	if requestBased && len(t.entries) > 1 {
		r.klogf("table: request-based DM doesn't support multiple targets")
		r.klogf("table: unable to determine table type")
		return false, syscall.EINVAL
	}
	if requestBased {
		devs := 0
		for _, x := range t.entries {
			it, ok := x.target.(targets.AreaIterator)
			if !ok {
				continue
			}
			for _, a := range it.Areas() {
				devs++
				if m, ok := a.Dev.(*mapped); ok && !m.d.st.RequestBased {
					r.klogf("table: table load rejected: including non-request-stackable devices")
					r.klogf("table: unable to determine table type")
					return false, syscall.EINVAL
				}
			}
		}
		if devs == 0 && d.st.Live != nil {
			requestBased = d.st.RequestBased // a table without devices inherits the live table's type
		}
	}
	if live := immutableType(d.st.Live); live != "" && live != immutableType(&t.spec) && !hasType(&t.spec, "error") {
		r.klogf("ioctl: can't replace immutable target type %s", live)
		return false, syscall.EINVAL
	}
	if d.st.Typed && d.st.RequestBased != requestBased {
		r.klogf("ioctl: can't change device type (old=%d vs new=%d) after initial table load.", queueMode(d.st.RequestBased), queueMode(requestBased))
		return false, syscall.EINVAL
	}
	return requestBased, 0
}

func queueMode(requestBased bool) int {
	if requestBased {
		return queueModeRequest
	}
	return queueModeBio
}

// immutableType is the name of the immutable target type of a stored
// table, "" when it has none (or there is no table).
func immutableType(spec *tableSpec) string {
	if spec == nil {
		return ""
	}
	for _, x := range spec.Targets {
		if typ, ok := targets.Lookup(x.Type); ok && typ.Immutable {
			return typ.Name
		}
	}
	return ""
}

// hasType reports whether a stored table has a target of type name.
func hasType(spec *tableSpec, name string) bool {
	for _, x := range spec.Targets {
		if x.Type == name {
			return true
		}
	}
	return false
}

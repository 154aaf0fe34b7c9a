package dm

import "fmt"

// buildKey names one table of a device: its live table, its stored
// inactive table, or a table being loaded.
type buildKey struct {
	d    *Device
	kind int
}

const (
	liveKind = iota
	storedInactiveKind
	loadKind
)

// tableKind is the kind of table build makes from its flags.
func tableKind(restored, inactive bool) int {
	switch {
	case !restored:
		return loadKind
	case inactive:
		return storedInactiveKind
	}
	return liveKind
}

// activateUsers is targets.Context.ActivateUsers: it builds every stored
// table, live or inactive, that opened the device named name ("253:N" or
// a file's path) and is not built in this process yet, as the kernel has
// them all built; tables being built right now are left alone (the
// caller's own, and any it is built for). It returns the first live table
// that cannot be built; an inactive one that cannot be is left unbuilt.
func (r *Registry) activateUsers(name string) error {
	defer r.quiet()()
	for _, u := range r.Devices() {
		liveBusy := r.building[buildKey{u, liveKind}] > 0
		if u.st.Live != nil && uses(u.st.Live, name) && u.current() == nil && !liveBusy {
			if _, err := u.liveTable(); err != nil {
				return fmt.Errorf("device %s uses %s: %w", u.st.Name, name, err)
			}
		}
		if u.st.Inactive != nil && uses(u.st.Inactive, name) && u.inactive == nil && !liveBusy &&
			r.building[buildKey{u, storedInactiveKind}] == 0 {
			u.inactiveTable()
		}
	}
	return nil
}

// uses reports whether a stored table opened the device named name.
func uses(spec *tableSpec, name string) bool {
	for _, dep := range spec.Deps {
		if dep == name {
			return true
		}
	}
	return false
}

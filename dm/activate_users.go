package dm

import "fmt"

// activateUsers is targets.Context.ActivateUsers: it builds the live table
// of every device whose stored live table opened the device named name
// ("253:N" or a file's path), skipping the devices whose tables are being
// built right now (the caller's own, and any it is built for), and returns
// the first that cannot be built.
func (r *Registry) activateUsers(name string) error {
	for _, u := range r.Devices() {
		if r.building[u] > 0 || u.st.Live == nil || u.current() != nil {
			continue
		}
		for _, dep := range u.st.Live.Deps {
			if dep != name {
				continue
			}
			if _, err := u.liveTable(); err != nil {
				return fmt.Errorf("device %s uses %s: %w", u.st.Name, name, err)
			}
			break
		}
	}
	return nil
}

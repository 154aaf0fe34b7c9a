package dm

// MakeNode is libdm's dm_mknodes on the device name: its node under
// /dev/mapper exists from now on, table or no table (see State.Node),
// which opening it shows. A name that is not a device's is left alone.
func (r *Registry) MakeNode(name string) {
	if d, ok := r.Lookup(name); ok {
		d.st.Node = true
	}
}

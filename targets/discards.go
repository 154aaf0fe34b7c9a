package targets

// DiscardSupporter says whether discards to it do anything
// (dm_table_supports_discards). On a target it overrides the default: a
// target without it supports discards when it maps onto devices (Areas) and
// every one of them does; a target that maps onto none (error, zero) does
// not. On a Dev it is the device's own answer (a mapped device: all the
// targets of its live table); a Dev without it (a file) supports them.
type DiscardSupporter interface {
	SupportsDiscards() bool
}

// DevSupportsDiscards reports whether dev takes discards.
func DevSupportsDiscards(dev Dev) bool {
	if s, ok := dev.(DiscardSupporter); ok {
		return s.SupportsDiscards()
	}
	return true
}

// TargetSupportsDiscards reports whether t takes discards (see
// DiscardSupporter).
func TargetSupportsDiscards(t Target) bool {
	if s, ok := t.(DiscardSupporter); ok {
		return s.SupportsDiscards()
	}
	it, ok := t.(AreaIterator)
	if !ok {
		return false
	}
	for _, a := range it.Areas() {
		if !DevSupportsDiscards(a.Dev) {
			return false
		}
	}
	return true
}

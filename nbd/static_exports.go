package nbd

import (
	"fmt"
	"sort"
)

// StaticExports is a fixed set of exports by name, for tests and single-file servers. The empty
// name (a client's default export) selects the only export when there is exactly one. Open
// does no accounting: its release does nothing.
type StaticExports map[string]Export

// List returns the names in sorted order.
func (m StaticExports) List() []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Open returns the named export.
func (m StaticExports) Open(name string) (Export, func(), error) {
	if e, ok := m[name]; ok {
		return e, func() {}, nil
	}
	if name == "" && len(m) == 1 {
		for _, e := range m {
			return e, func() {}, nil
		}
	}
	return nil, nil, fmt.Errorf("export %q does not exist", name)
}

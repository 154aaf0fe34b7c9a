package targets

import (
	"fmt"
	"sync"
)

// Constructor builds a target from its table arguments (the kernel's ctr).
// It returns a *CtrError on bad arguments.
type Constructor func(ctx *Context, args []string) (Target, error)

// Type is a registered target type.
type Type struct {
	Name    string
	Version [3]int
	New     Constructor
	// Singleton types must be alone in their table; Immutable ones cannot be
	// replaced by other types on reload (thin-pool is both).
	Singleton, Immutable bool
	// SavesInactive types keep their StateSaver state from the constructor
	// on, not only while live (flakey's start time): the core saves it for
	// an inactive table too, so that a later process rebuilding the table,
	// to resume it or not, gets it as Context.Saved.
	SavesInactive bool
	// Destroys types have targets that are Destroyers: a stored table
	// holding one that this process has not built is built to be
	// destroyed, as the kernel's stood built since its load.
	Destroys bool
}

// VersionString is "vA.B.C" as `dmsetup targets` prints it.
func (t *Type) VersionString() string {
	return fmt.Sprintf("v%d.%d.%d", t.Version[0], t.Version[1], t.Version[2])
}

var registry struct {
	sync.Mutex
	types []*Type
}

// Register adds a target type; it panics on a duplicate name (a programming error).
func Register(t Type) {
	registry.Lock()
	defer registry.Unlock()
	for _, x := range registry.types {
		if x.Name == t.Name {
			panic("targets: duplicate registration of " + t.Name)
		}
	}
	registry.types = append(registry.types, &t)
}

// Lookup finds a registered type by name.
func Lookup(name string) (*Type, bool) {
	registry.Lock()
	defer registry.Unlock()
	for _, t := range registry.types {
		if t.Name == name {
			return t, true
		}
	}
	return nil, false
}

// All returns the registered types newest first, the order of the kernel's
// target list (`dmsetup targets`).
func All() []*Type {
	registry.Lock()
	defer registry.Unlock()
	out := make([]*Type, len(registry.types))
	for i, t := range registry.types {
		out[len(out)-1-i] = t
	}
	return out
}

package targets

// StateSaver is a target with in-memory state the kernel keeps for as long
// as the table is live (a pool's allocation cursors, its mode) that the
// metadata on disk does not hold. SaveState is called before the table is
// closed at the end of a process; the string comes back as Context.Saved
// when the same live table is rebuilt in a later process (an inactive one
// too for Type.SavesInactive types).
type StateSaver interface {
	SaveState() string
}

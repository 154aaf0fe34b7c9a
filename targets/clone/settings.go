package clone

// settings are a table's run-time hydration knobs: set by its constructor
// arguments, changed by messages. The kernel keeps them in struct clone for
// as long as the table is live and never writes them to the metadata;
// gdmsetup carries them from one process to the next in the table's saved
// state (see savedState).
type settings struct {
	Disabled  bool   `json:"no_hydration,omitempty"` // no_hydration / disable_hydration
	Threshold uint32 `json:"hydration_threshold"`
	Batch     uint32 `json:"hydration_batch_size"`
}

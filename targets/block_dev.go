package targets

// BlockDev is a Dev seen as a persistent-data block device (pdata/block's
// Device): Sync flushes it, and SizeBytes cannot fail.
type BlockDev struct{ Dev }

// Sync makes completed writes durable (Flush).
func (d BlockDev) Sync() error { return d.Flush() }

// SizeBytes is the Dev's size now.
func (d BlockDev) SizeBytes() (int64, error) { return d.Dev.SizeBytes(), nil }

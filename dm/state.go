package dm

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// stateFile holds the registry in the state directory; lockFile is flock'ed by
// the one process that owns the directory, turnstileFile by the one waiting
// for it next.
const (
	stateFile     = "devices.json"
	lockFile      = "lock"
	turnstileFile = "lock.queue"
)

// targetSpec is one table line as stored: device arguments rewritten to the
// names Open resolved them to ("253:N" or an absolute path), so a table
// rebuilds the same way from any working directory and across renames.
type targetSpec struct {
	Start uint64   `json:"start"`
	Len   uint64   `json:"len"`
	Type  string   `json:"type"`
	Args  []string `json:"args"`
	// Saved is the target's in-memory state (targets.StateSaver) when the
	// live table was last closed.
	Saved string `json:"saved,omitempty"`
}

// tableSpec is a stored table and the devices it opened, in open order.
type tableSpec struct {
	Targets []targetSpec `json:"targets"`
	Deps    []string     `json:"deps"`
	// Mode is the table's mode as loaded: "ro" or "rw"; "" in state
	// written before tables had a mode of their own, where the device's
	// read_only stands for it.
	Mode string `json:"mode,omitempty"`
}

// readOnly reports whether s was loaded read-only; deviceReadOnly stands
// for a spec without a mode.
func (s *tableSpec) readOnly(deviceReadOnly bool) bool {
	return s.Mode == "ro" || s.Mode == "" && deviceReadOnly
}

// deviceState is what the registry keeps of a device between processes.
type deviceState struct {
	Name      string `json:"name"`
	UUID      string `json:"uuid,omitempty"`
	Minor     uint32 `json:"minor"`
	Suspended bool   `json:"suspended,omitempty"`
	ReadOnly  bool   `json:"read_only,omitempty"`
	Event     uint32 `json:"event"`
	Typed     bool   `json:"typed,omitempty"`
	// RequestBased is the device's type once Typed: its first table was
	// request-based (multipath), so later tables must be too.
	RequestBased bool `json:"request_based,omitempty"`
	// ReadAhead is the read-ahead in sectors the last table swap set, or
	// SetReadAhead after it; nil: the default.
	ReadAhead *uint64 `json:"read_ahead,omitempty"`
	// DeferredRemove marks a device `remove --deferred` left because it was
	// open: it is removed when its last opener goes.
	DeferredRemove bool `json:"deferred_remove,omitempty"`
	// Node is set once a resume succeeded or libdm's mknodes named the
	// device: the device's node under /dev/mapper exists from then on,
	// table or no table.
	Node     bool       `json:"node,omitempty"`
	Live     *tableSpec `json:"live,omitempty"`
	Inactive *tableSpec `json:"inactive,omitempty"`
	// Stats is the device's I/O statistics: its regions and their counters.
	Stats *savedStats `json:"stats,omitempty"`
}

type stateDoc struct {
	Devices []deviceState `json:"devices"`
}

// lockDir creates dir (0700) and takes its lock, waiting for another owner.
// Waiters queue on a second lock, the turnstile, held only while waiting for
// the first: a process that keeps releasing and retaking the directory (a
// long `wait`) queues behind a process already waiting instead of winning
// the race for the lock again and again.
func lockDir(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory %s: %w", dir, err)
	}
	turnstile, err := lockFileIn(dir, turnstileFile)
	if err != nil {
		return nil, err
	}
	defer turnstile.Close()
	return lockFileIn(dir, lockFile)
}

// lockFileIn opens (creating, 0600) and flocks dir/name exclusively.
func lockFileIn(dir, name string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state directory %s: %w", dir, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", f.Name(), err)
	}
	return f, nil
}

func readState(dir string) (stateDoc, []byte, error) {
	var doc stateDoc
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if os.IsNotExist(err) {
		return doc, nil, nil
	}
	if err != nil {
		return doc, nil, err
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return doc, nil, fmt.Errorf("%s: %w", filepath.Join(dir, stateFile), err)
	}
	return doc, b, nil
}

// writeState replaces the state file atomically: a temporary file, fsync,
// rename, fsync of the directory.
func writeState(dir string, b []byte) error {
	tmp, err := os.CreateTemp(dir, stateFile+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, stateFile)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// defaultReadAheadSectors is a disk's read-ahead before limits raise it (128 KiB).
const defaultReadAheadSectors = 256

// readAhead is the read-ahead in sectors: set when the live table went
// live, or by SetReadAhead since.
func (st *deviceState) readAhead() uint64 {
	if st.ReadAhead == nil {
		return defaultReadAheadSectors
	}
	return *st.ReadAhead
}

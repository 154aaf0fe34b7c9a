package targets

import (
	"fmt"
	"syscall"
)

// Context is what a constructor gets from the core besides its arguments
// (the kernel's dm_target and dm_table as seen by a ctr).
type Context struct {
	// Begin and Len are the line's start and length in sectors.
	Begin, Len uint64
	// DevName is the mapped device being built, "253:MINOR" (dm_device_name).
	DevName string
	// ReadOnly is set for a read-only table.
	ReadOnly bool
	// Open opens an underlying device by path, /dev/mapper/NAME or MAJ:MIN
	// (dm_get_device). Its errors carry an errno (ENODEV, ENXIO, ...).
	Open func(path string) (Dev, error)
	// Logf writes one kernel log line; "device-mapper: " is prefixed.
	Logf func(format string, args ...any)
	// Printk writes one kernel log line as it is, for a target whose
	// module prints with a prefix of its own (dm-crypt's pr_fmt).
	Printk func(line string)
	// Event raises a table event (dm_table_event): the device's event number moves.
	Event func()
	// NoflushSuspending reports whether the device is being suspended with
	// noflush (dm_noflush_suspending): from before the presuspend hooks run
	// until in-flight I/O has drained. I/O a target would fail for want of
	// a way to serve it (multipath without a path, mirror's held writes)
	// goes back to the core with ErrRequeue then.
	NoflushSuspending func() bool
	// Restored is set when the table was loaded and accepted before and is
	// being rebuilt from the registry in a new process. In the kernel the
	// objects behind it (a pool, its metadata) were never torn down, so a
	// target rebuilds them as they are rather than as a new table would.
	Restored bool
	// Saved is what this line's target returned from SaveState when its
	// table was last closed (restored tables only; "" if nothing).
	Saved string
	// Suspended is set, with Restored, when the device was left suspended:
	// the objects the target rebuilds belong to a suspended device
	// (dm_suspended in the kernel).
	Suspended bool
	// Inactive is set when the table is built as the device's inactive
	// table (a load, or a loaded table rebuilt in a later process): it goes
	// live only when a resume swaps it in.
	Inactive bool
	// ActivateUsers builds, in this process, every stored table (live or
	// inactive) of the mapped devices that uses dev and is not built yet,
	// as the kernel has them all built: snapshot-origin calls it so that a
	// write through it finds every snapshot of its device, also in a
	// process that touched only the origin, and snapshot so that it sees
	// the other tables on its COW device. It returns the first live table
	// that cannot be built.
	ActivateUsers func(dev Dev) error
}

// CtrError is a constructor failure: Msg is ti->error as the kernel logs it,
// Errno what user space sees.
type CtrError struct {
	Msg   string
	Errno syscall.Errno
}

func (e *CtrError) Error() string { return e.Msg }

// Unwrap gives the errno, so errors.Is(err, syscall.EINVAL) works.
func (e *CtrError) Unwrap() error { return e.Errno }

// Errorf returns a CtrError with errno e.
func Errorf(e syscall.Errno, format string, args ...any) error {
	return &CtrError{Msg: fmt.Sprintf(format, args...), Errno: e}
}

// Invalid returns a CtrError with EINVAL, the usual constructor failure.
func Invalid(msg string) error {
	return &CtrError{Msg: msg, Errno: syscall.EINVAL}
}

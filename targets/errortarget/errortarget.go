// Package errortarget is the error target: every read, write and discard
// fails with EIO; its arguments are accepted and ignored (dm-target.c).
package errortarget

import (
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Type is the error target's registration.
var Type = targets.Type{Name: "error", Version: [3]int{1, 5, 0}, New: New}

// Error fails all I/O; it has no state.
type Error struct{}

// New is error's constructor: any arguments are ignored.
func New(*targets.Context, []string) (targets.Target, error) { return Error{}, nil }

// ReadAt fails with EIO.
func (Error) ReadAt([]byte, uint64) error { return syscall.EIO }

// WriteAt fails with EIO.
func (Error) WriteAt([]byte, uint64) error { return syscall.EIO }

// Discard fails with EIO.
func (Error) Discard(uint64, uint64) error { return syscall.EIO }

// Flush succeeds: the error target takes no flush bios.
func (Error) Flush() error { return nil }

// NoFlushBios is targets.NoFlushBios: io_err_ctr sets no num_flush_bios.
func (Error) NoFlushBios() {}

// Status is empty.
func (Error) Status() string { return "" }

// Table is empty.
func (Error) Table() string { return "" }

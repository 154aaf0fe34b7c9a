// Package zero is the zero target: reads return zeros, writes are dropped
// (dm-zero.c as in Linux 6.1, v1.1.0: discards are not supported).
package zero

import (
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Type is the zero target's registration.
var Type = targets.Type{Name: "zero", Version: [3]int{1, 1, 0}, New: New}

// Zero has no state.
type Zero struct{}

// New is zero's constructor: it takes no arguments.
func New(_ *targets.Context, args []string) (targets.Target, error) {
	if len(args) != 0 {
		return nil, targets.Invalid("No arguments required")
	}
	return Zero{}, nil
}

// ReadAt fills p with zeros.
func (Zero) ReadAt(p []byte, _ uint64) error {
	clear(p)
	return nil
}

// WriteAt drops the data.
func (Zero) WriteAt([]byte, uint64) error { return nil }

// Discard is not supported by the 6.1 zero target.
func (Zero) Discard(uint64, uint64) error { return syscall.EOPNOTSUPP }

// Flush has nothing to do.
func (Zero) Flush() error { return nil }

// NoFlushBios is targets.NoFlushBios: zero_ctr sets no num_flush_bios.
func (Zero) NoFlushBios() {}

// Status is empty.
func (Zero) Status() string { return "" }

// Table is empty.
func (Zero) Table() string { return "" }

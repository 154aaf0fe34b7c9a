// Package faultdev is an in-memory block.Device for tests that can fail
// writes after the Nth one and simulate power loss (dropping writes not yet
// synced), so crash safety can be tested at every write of a commit.
package faultdev

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// ErrInjected is returned by writes and syncs after the configured failure point.
var ErrInjected = errors.New("faultdev: injected write failure")

type extent struct {
	off  int64
	data []byte
}

// Device is an in-memory device. cur is what reads see; durable is what
// survives Crash (writes up to the last successful Sync).
//
// Concurrency: mu protects every field.
type Device struct {
	mu        sync.Mutex
	cur       []byte
	durable   []byte
	pending   []extent
	writes    int
	failAfter int // -1: never fail
	failed    bool
}

// New returns a zero-filled device of sizeBytes.
func New(sizeBytes int64) *Device {
	return FromImage(make([]byte, sizeBytes))
}

// FromImage returns a device whose durable and current contents are img (copied).
func FromImage(img []byte) *Device {
	return &Device{cur: append([]byte(nil), img...), durable: append([]byte(nil), img...), failAfter: -1}
}

// ReadAt reads from the current contents.
func (d *Device) ReadAt(p []byte, off int64) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if off < 0 || off >= int64(len(d.cur)) {
		return 0, io.EOF
	}
	n := copy(p, d.cur[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// WriteAt writes to the current contents, unless the failure point has passed.
func (d *Device) WriteAt(p []byte, off int64) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failAfter >= 0 && d.writes >= d.failAfter {
		d.failed = true
		return 0, fmt.Errorf("write at byte %d: %w", off, ErrInjected)
	}
	if off < 0 || off+int64(len(p)) > int64(len(d.cur)) {
		return 0, fmt.Errorf("faultdev: write of %d bytes at %d beyond %d", len(p), off, len(d.cur))
	}
	d.writes++
	copy(d.cur[off:], p)
	d.pending = append(d.pending, extent{off: off, data: append([]byte(nil), p...)})
	return len(p), nil
}

// Sync makes the writes so far durable (fails once a write has failed).
func (d *Device) Sync() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failed {
		return fmt.Errorf("sync: %w", ErrInjected)
	}
	for _, e := range d.pending {
		copy(d.durable[e.off:], e.data)
	}
	d.pending = d.pending[:0]
	return nil
}

// SizeBytes returns the device size.
func (d *Device) SizeBytes() (int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return int64(len(d.cur)), nil
}

// Grow extends the device with zeroes to sizeBytes.
func (d *Device) Grow(sizeBytes int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if extra := sizeBytes - int64(len(d.cur)); extra > 0 {
		d.cur = append(d.cur, make([]byte, extra)...)
		d.durable = append(d.durable, make([]byte, extra)...)
	}
}

// FailAfterWrites lets n more writes succeed; later writes and syncs fail.
// n < 0 disables failure.
func (d *Device) FailAfterWrites(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n < 0 {
		d.failAfter, d.failed = -1, false
		return
	}
	d.failAfter = d.writes + n
}

// Writes returns the number of successful writes so far.
func (d *Device) Writes() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.writes
}

// Crash returns a new device holding what survives a power loss now: the
// durable contents, plus the unsynced writes when keepUnsynced is set.
func (d *Device) Crash(keepUnsynced bool) *Device {
	d.mu.Lock()
	defer d.mu.Unlock()
	if keepUnsynced {
		return FromImage(d.cur)
	}
	return FromImage(d.durable)
}

// Image returns a copy of the current contents.
func (d *Device) Image() []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]byte(nil), d.cur...)
}

// Corrupt XORs mask into the byte at offBytes of the current and durable contents.
func (d *Device) Corrupt(offBytes int64, mask byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cur[offBytes] ^= mask
	d.durable[offBytes] ^= mask
}

// Package delay is the delay target:
// `<dev> <offset> <delay_ms> [<wdev> <woffset> <wdelay_ms> [<fdev> <foffset> <fdelay_ms>]]`
// holds each read, write (discards too) and flush back for its class's
// delay, then sends it to that class's device and offset
// (drivers/md/dm-delay.c, v1.3.0 of Linux 6.1).
package delay

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Type is the delay target's registration.
var Type = targets.Type{Name: "delay", Version: [3]int{1, 3, 0}, New: New}

// class is where one kind of I/O goes (reads; writes and discards;
// flushes) and how long it waits first.
type class struct {
	dev         targets.Dev
	startSector uint64
	delayMs     uint32 // 0: no delay
	ops         uint32 // I/Os of the class waiting now; guarded by Delay.mu
}

// Delay is a constructed delay target.
//
// mu guards mayDelay, release and each class's ops; everything else is
// fixed at construction. No lock is held while an I/O waits or runs: each
// waits on its own timer, so any number are delayed at once, as the
// kernel's list of delayed bios under one timer.
type Delay struct {
	read, write, flush class
	argc               int // 3, 6 or 9: how many classes Table prints
	lenSectors         uint64

	mu       sync.Mutex
	mayDelay bool          // false from presuspend to resume: I/O goes at once
	release  chan struct{} // closed by PreSuspend: every waiting I/O goes at once
}

// MayWait is targets.Waiter: true when a class has a delay.
func (d *Delay) MayWait() bool {
	return d.read.delayMs > 0 || d.write.delayMs > 0 || d.flush.delayMs > 0
}

// New is delay's constructor (delay_ctr): the read class from the first
// three words, the write class from the next three (else the same), the
// flush class from the last three (else the write class's words).
func New(ctx *targets.Context, args []string) (targets.Target, error) {
	if n := len(args); n != 3 && n != 6 && n != 9 {
		return nil, targets.Invalid("Requires exactly 3, 6 or 9 arguments")
	}
	d := &Delay{argc: len(args), lenSectors: ctx.Len, mayDelay: true, release: make(chan struct{})}
	write, flush := args[0:3], args[0:3]
	if len(args) >= 6 {
		write, flush = args[3:6], args[3:6]
	}
	if len(args) == 9 {
		flush = args[6:9]
	}
	for _, c := range []struct {
		c    *class
		args []string
	}{{&d.read, args[0:3]}, {&d.write, write}, {&d.flush, flush}} {
		if err := c.c.construct(ctx, c.args); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// construct reads `<dev> <offset> <delay_ms>` as delay_class_ctr: the
// offset, then the delay (both sscanf), then the device.
func (c *class) construct(ctx *targets.Context, args []string) error {
	start, ok := targets.ScanUint(args[1], 64)
	if !ok {
		return targets.Invalid("Invalid device sector")
	}
	delayMs, ok := targets.ScanUint(args[2], 32)
	if !ok {
		return targets.Invalid("Invalid delay")
	}
	dev, err := ctx.Open(args[0])
	if err != nil {
		return targets.Errorf(targets.OpenErrno(err), "Device lookup failed")
	}
	c.dev, c.startSector, c.delayMs = dev, start, uint32(delayMs)
	return nil
}

// wait holds an I/O of class c back for the class's delay, counted in
// Status meanwhile; at once when the delay is 0 or between presuspend and
// resume. A presuspend ends every wait.
func (d *Delay) wait(c *class) {
	if c.delayMs == 0 {
		return
	}
	d.mu.Lock()
	if !d.mayDelay {
		d.mu.Unlock()
		return
	}
	c.ops++
	release := d.release
	d.mu.Unlock()
	timer := time.NewTimer(time.Duration(c.delayMs) * time.Millisecond)
	select {
	case <-timer.C:
	case <-release:
		timer.Stop()
	}
	d.mu.Lock()
	c.ops--
	d.mu.Unlock()
}

func (c *class) byteOffset(sector uint64) int64 {
	return int64(c.startSector+sector) * targets.SectorSize
}

// ReadAt waits for the read delay, then reads from the read device.
func (d *Delay) ReadAt(p []byte, sector uint64) error {
	d.wait(&d.read)
	_, err := d.read.dev.ReadAt(p, d.read.byteOffset(sector))
	return err
}

// WriteAt waits for the write delay, then writes to the write device.
func (d *Delay) WriteAt(p []byte, sector uint64) error {
	d.wait(&d.write)
	_, err := d.write.dev.WriteAt(p, d.write.byteOffset(sector))
	return err
}

// WriteFUA is targets.FUAWriter: a FUA write is a write (delay_map takes
// the flush class for REQ_PREFLUSH only), so it waits for the write delay,
// then goes to the write device as a FUA write.
func (d *Delay) WriteFUA(p []byte, sector uint64) error {
	d.wait(&d.write)
	return targets.DevWriteFUA(d.write.dev, p, d.write.byteOffset(sector))
}

// Discard is a write: it waits for the write delay, then discards on the
// write device.
func (d *Delay) Discard(sector, lenSectors uint64) error {
	d.wait(&d.write)
	return d.write.dev.Discard(d.write.byteOffset(sector), int64(lenSectors)*targets.SectorSize)
}

// Flush waits for the flush delay, then flushes the flush device only.
func (d *Delay) Flush() error {
	d.wait(&d.flush)
	return d.flush.dev.Flush()
}

// PreSuspend lets every waiting I/O go at once and stops delaying until
// Resume (delay_presuspend: may_delay = false).
func (d *Delay) PreSuspend() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mayDelay = false
	close(d.release)
	d.release = make(chan struct{})
}

// PreResume accepts every resume.
func (d *Delay) PreResume() error { return nil }

// Resume delays I/O again.
func (d *Delay) Resume() {
	d.mu.Lock()
	d.mayDelay = true
	d.mu.Unlock()
}

// Status is "<reads> <writes> <flushes>": the I/Os of each class waiting now.
func (d *Delay) Status() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return fmt.Sprintf("%d %d %d", d.read.ops, d.write.ops, d.flush.ops)
}

// Table is "<dev> <offset> <delay>" for the read class, then for the write
// and flush classes when the table gave them.
func (d *Delay) Table() string {
	classes := []*class{&d.read, &d.write, &d.flush}[:d.argc/3]
	words := make([]string, len(classes))
	for i, c := range classes {
		words[i] = fmt.Sprintf("%s %d %d", c.dev.Name(), c.startSector, c.delayMs)
	}
	return strings.Join(words, " ")
}

// Areas is the range of each class's device, the target's length from the
// class's offset.
func (d *Delay) Areas() []targets.Area {
	var out []targets.Area
	for _, c := range []*class{&d.read, &d.write, &d.flush} {
		out = append(out, targets.Area{Dev: c.dev, StartSector: c.startSector, LenSectors: d.lenSectors})
	}
	return out
}

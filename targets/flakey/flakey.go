// Package flakey is the flakey target, the kernel's fault injector:
// `<dev> <offset> <up> <down> [<#features> <feature args>...]` maps like
// linear, but counting whole seconds from its constructor it is up for up
// seconds, then down for down seconds, and so on; while down it fails,
// drops or corrupts I/O as its features say (drivers/md/dm-flakey.c, v1.5.0
// of Linux 6.1).
package flakey

import (
	"fmt"
	"math"
	"time"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Type is the flakey target's registration. Its start time is state from
// the constructor on, kept for an inactive table too.
var Type = targets.Type{Name: "flakey", Version: [3]int{1, 5, 0}, New: New, SavesInactive: true}

// Flakey maps onto one device with the kernel's up/down cycle. Everything
// is fixed at construction, so it needs no lock.
type Flakey struct {
	dev          targets.Dev
	offsetSector uint64
	lenSectors   uint64
	// upSeconds and downSeconds are the intervals; their sum is neither 0
	// nor beyond 32 bits (the constructor checks).
	upSeconds, downSeconds uint32
	features
	// start is when the constructor ran (jiffies at flakey_ctr): kept
	// across processes (SaveState) while the table exists.
	start time.Time
}

// New is flakey_ctr: the kernel's checks in the kernel's order, the
// device opened last.
func New(ctx *targets.Context, args []string) (targets.Target, error) {
	if len(args) < 4 {
		return nil, targets.Invalid("Invalid argument count")
	}
	f := &Flakey{lenSectors: ctx.Len, start: startTime(ctx)}
	as := &targets.ArgSet{Args: args}
	devName, _ := as.Shift()
	offArg, _ := as.Shift()
	off, ok := targets.ScanUint(offArg, 64)
	if !ok {
		return nil, targets.Invalid("Invalid device sector")
	}
	f.offsetSector = off
	// Both intervals are read with the up interval's dm_arg (its message),
	// as flakey_ctr does.
	up, err := as.ReadArg(0, math.MaxUint32, "Invalid up interval")
	if err != nil {
		return nil, err
	}
	down, err := as.ReadArg(0, math.MaxUint32, "Invalid up interval")
	if err != nil {
		return nil, err
	}
	f.upSeconds, f.downSeconds = uint32(up), uint32(down)
	if f.upSeconds+f.downSeconds == 0 {
		return nil, targets.Invalid("Total (up + down) interval is zero")
	}
	if f.upSeconds+f.downSeconds < f.upSeconds {
		return nil, targets.Invalid("Interval overflow")
	}
	if err := f.features.parse(as); err != nil {
		return nil, err
	}
	dev, err := ctx.Open(devName)
	if err != nil {
		return nil, targets.Errorf(targets.OpenErrno(err), "Device lookup failed")
	}
	f.dev = dev
	return f, nil
}

// Status is empty (STATUSTYPE_INFO).
func (f *Flakey) Status() string { return "" }

// Table is flakey_status's STATUSTYPE_TABLE: every item followed by a
// space, "<dev> <offset> <up> <down> <#feature args> <features>".
func (f *Flakey) Table() string {
	return fmt.Sprintf("%s %d %d %d %s", f.dev.Name(), f.offsetSector, f.upSeconds, f.downSeconds, f.features)
}

// Areas is the one range of the device it uses, as linear's.
func (f *Flakey) Areas() []targets.Area {
	return []targets.Area{{Dev: f.dev, StartSector: f.offsetSector, LenSectors: f.lenSectors}}
}

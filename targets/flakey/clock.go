package flakey

import (
	"strconv"
	"time"

	"github.com/gdmsetup/gdmsetup/targets"
)

// now is the clock the up/down cycle is counted on (tests set it).
var now = time.Now

// startTime is the constructor's time: kept from the process that loaded
// the table when it is rebuilt (Restored, with the state SaveState gave),
// now for a new table (create, load, reload) or a state that does not parse.
func startTime(ctx *targets.Context) time.Time {
	if ctx.Restored {
		if ns, err := strconv.ParseInt(ctx.Saved, 10, 64); err == nil {
			return time.Unix(0, ns)
		}
	}
	return now()
}

// SaveState is targets.StateSaver: the start time, in nanoseconds since
// the Unix epoch.
func (f *Flakey) SaveState() string { return strconv.FormatInt(f.start.UnixNano(), 10) }

// down reports whether the target is in its down interval now: whole
// seconds elapsed since the start, as the kernel's 32-bit count of
// (jiffies - start_time) / HZ, taken modulo up + down, are at least up. A
// clock set back before the start counts as no time elapsed.
func (f *Flakey) down() bool {
	elapsed := max(now().Sub(f.start), 0)
	sec := uint32(uint64(elapsed / time.Second))
	return sec%(f.upSeconds+f.downSeconds) >= f.upSeconds
}

package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/chzyer/readline"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/targets"
)

// waitSlice is how long wait holds the state directory at a time before
// letting other processes in.
const waitSlice = 100 * time.Millisecond

// cmdWait is `wait NAME [EVENT_NR]`: return once the device's event number
// differs from EVENT_NR (default 0), as DM_DEV_WAIT does. While it waits the
// device's targets keep running in this process (e.g. clone hydration).
func cmdWait(e *env) error {
	if len(e.args) == 0 {
		return usageError("Please specify device.")
	}
	var want uint64
	if len(e.args) > 1 {
		n, ok := targets.ParseUint(e.args[1], 32)
		if !ok {
			return usageError("Invalid event number.")
		}
		want = n
	}
	name := e.args[0]
	bar := newHydrationBar(e.stderr)
	defer bar.finish()
	if e.reg == nil {
		r, err := dm.Open(stateDir(e.opts), e.stderr)
		if err != nil {
			return err
		}
		e.reg, e.ownRegistry = r, true
		defer func() { e.reg.Close() }()
	}
	for {
		d, ok := e.reg.Lookup(name)
		if !ok {
			return &dm.IoctlError{Op: "waitevent", Name: name, Errno: enxio}
		}
		if err := d.Prepare(); err != nil && d.Info().Live {
			return err
		}
		if d.WaitEvent(uint32(want), waitSlice) {
			return nil
		}
		bar.update(e.reg, name)
		if e.ownRegistry {
			if err := e.reopen(10 * time.Millisecond); err != nil {
				return err
			}
		}
	}
}

// hydrationBar draws the hydration progress of a device's clone targets on
// a terminal while wait runs: regions done / total, rate and time left.
// A nil bar (not a terminal) draws nothing.
type hydrationBar struct {
	w         io.Writer
	start     time.Time
	startDone uint64
	drawn     bool
}

func newHydrationBar(w io.Writer) *hydrationBar {
	if !isTerminal(w) {
		return nil
	}
	return &hydrationBar{w: w}
}

// isTerminal reports whether w is a terminal (NO_COLOR does not matter here).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && readline.IsTerminal(int(f.Fd()))
}

// update redraws the bar from the device's clone status lines.
func (b *hydrationBar) update(reg *dm.Registry, name string) {
	if b == nil {
		return
	}
	lines, err := reg.Lines(name, false, true)
	if err != nil {
		return
	}
	done, total, ok := cloneRegions(lines)
	if !ok {
		return
	}
	now := time.Now()
	if b.start.IsZero() {
		b.start, b.startDone = now, done
	}
	rate := 0.0
	if secs := now.Sub(b.start).Seconds(); secs > 0 && done >= b.startDone {
		rate = float64(done-b.startDone) / secs
	}
	fmt.Fprintf(b.w, "\r%s", progressLine(done, total, rate))
	b.drawn = true
}

// finish ends the bar's line.
func (b *hydrationBar) finish() {
	if b != nil && b.drawn {
		fmt.Fprintln(b.w)
	}
}

// cloneRegions sums <hydrated>/<nr_regions> over the clone status lines.
func cloneRegions(lines []dm.Line) (done, total uint64, ok bool) {
	for _, l := range lines {
		f := strings.Fields(l.Params)
		if l.Type != "clone" || len(f) < 4 {
			continue
		}
		var d, t uint64
		if _, err := fmt.Sscanf(f[3], "%d/%d", &d, &t); err == nil {
			done, total, ok = done+d, total+t, true
		}
	}
	return done, total, ok
}

// progressLine is one frame of the bar, e.g.
// "[#######.............] 1024/4096 regions  512/s  6s left".
func progressLine(done, total uint64, rate float64) string {
	const width = 20
	filled := width
	if total > 0 {
		filled = int(done * width / total)
	}
	left := "?"
	if done >= total {
		left = "0s"
	} else if rate > 0 {
		left = (time.Duration(float64(total-done) / rate * float64(time.Second))).Round(time.Second).String()
	}
	return fmt.Sprintf("[%s%s] %d/%d regions  %.0f/s  %s left ",
		strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total, rate, left)
}

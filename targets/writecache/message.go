package writecache

import (
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Message is writecache_message: flush (commit, then write every block
// back; EBUSY while suspended, EIO after an error), flush_on_suspend,
// cleaner, clear_stats, each alone (else EINVAL); any other word is
// logged and refused.
func (w *Writecache) Message(args []string) (string, error) {
	if len(args) == 0 {
		return "", syscall.EINVAL
	}
	verb := targets.LowerASCII(args[0])
	switch verb {
	case "flush", "flush_on_suspend", "cleaner", "clear_stats":
	default:
		w.ctx.Logf("writecache: unrecognised message received: %s", args[0])
		return "", syscall.EINVAL
	}
	if len(args) != 1 {
		return "", syscall.EINVAL
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch verb {
	case "flush":
		if w.suspended {
			return "", syscall.EBUSY
		}
		if w.errno != 0 {
			return "", syscall.EIO
		}
		w.flush()
		w.writebackAll++
		w.wbQueued = false
		w.writeback()
		w.writebackAll--
		if w.errno != 0 {
			return "", syscall.EIO
		}
	case "flush_on_suspend":
		w.flushOnSuspend = true
	case "cleaner":
		w.activateCleaner()
		if !w.suspended {
			w.verifyWatermark()
		}
	case "clear_stats":
		w.stats = stats{}
	}
	return "", nil
}

package verity

import "fmt"

// maxCorruptedErrs is DM_VERITY_MAX_CORRUPTED_ERRS: corrupted blocks
// logged per table.
const maxCorruptedErrs = 100

// corrupted is verity_handle_err for block n of kind ("data", or
// "metadata" for a hash block): the status turns to C, the first
// maxCorruptedErrs are logged, and the mode decides. It reports whether
// the I/O fails. restart_on_corruption and panic_on_corruption fail it
// too, after the line the kernel prints as it restarts or panics: a
// user-space device-mapper does not take the machine down.
func (v *Verity) corrupted(kind string, n uint64) bool {
	v.hashFailed.Store(true)
	for {
		ce := v.corruptedErrs.Load()
		if ce >= maxCorruptedErrs {
			break
		}
		if v.corruptedErrs.CompareAndSwap(ce, ce+1) {
			v.ratelimited(&corruptedLimit, "verity: %s: %s block %d is corrupted", v.dataDev.Name(), kind, n)
			if ce+1 == maxCorruptedErrs {
				v.logf("verity: %s: reached maximum errors", v.dataDev.Name())
			}
			break
		}
	}
	switch v.mode {
	case modeLogging:
		return false
	case modeRestart:
		v.printk(fmt.Sprintf("reboot: Restarting system with command '%s'", corruptedReason))
	case modePanic:
		v.printk("Kernel panic - not syncing: " + corruptedReason)
	}
	return true
}

// corruptedReason is what the kernel restarts or panics with.
const corruptedReason = "dm-verity device corrupted"

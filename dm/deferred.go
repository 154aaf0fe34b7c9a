package dm

import (
	"syscall"

	"github.com/gdmsetup/gdmsetup/errno"
)

// RemoveDeferred is `dmsetup remove --deferred`: a device nothing has open
// is removed at once, as by Remove; an open one stays, is marked (Info's
// Deferred, kept in the state directory) and is removed by whichever
// operation drops its last opener: the removal of a device whose table uses
// it, a reload and resume or clear that leaves it out, an NBD client's
// release. A plain Remove of a marked device that is still open fails with
// EBUSY; the message @cancel_deferred_remove clears the mark.
func (r *Registry) RemoveDeferred(name string) error {
	return r.removeNamed(name, true)
}

// removeDeferred is the kernel's deferred-remove work: every marked device
// nothing opens any more is removed, users before the devices they use, so
// that a chain of marked devices goes in one pass. A removal that fails is
// logged and its device stays, still marked.
func (r *Registry) removeDeferred() {
	marked := false
	for _, d := range r.devs {
		marked = marked || d.st.DeferredRemove
	}
	if !marked {
		return
	}
	for _, d := range r.topoOrder() {
		if !d.st.DeferredRemove || d.openCount() > 0 {
			continue
		}
		if err := r.remove(d); err != nil {
			r.klogf("ioctl: deferred remove of %s failed: %s", d.st.Name, errno.Text(errno.Of(err)))
		}
	}
}

// cancelDeferredRemove is the core message @cancel_deferred_remove (no
// arguments): the device loses its mark, marked or not.
func (r *Registry) cancelDeferredRemove(d *Device, args []string) syscall.Errno {
	if len(args) != 1 {
		r.klogf("ioctl: Invalid arguments for @cancel_deferred_remove")
		return syscall.EINVAL
	}
	d.st.DeferredRemove = false
	return 0
}

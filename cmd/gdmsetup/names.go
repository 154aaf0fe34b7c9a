package main

import (
	"fmt"
	"strings"

	"github.com/gdmsetup/gdmsetup/dm"
)

// kernelName is libdm's dm_task_set_name: the kernel's name of the device
// arg names on the command line. A name of more than dm.MaxNameLen bytes
// is refused; the others are mangled per e.mangling. A path (arg holds a
// '/') is refused for a new device (create); else /dev/mapper/NAME is the
// device the kernel calls NAME, taken as it is, when it exists (e.reg nil:
// not checked) and any other path is not found, as gdmsetup's devices have
// no other nodes.
func (e *env) kernelName(arg string, create bool) (string, error) {
	if strings.Contains(arg, "/") {
		if create {
			return "", usageError(fmt.Sprintf("Name \"%s\" invalid. It contains \"/\".", arg))
		}
		name, ok := strings.CutPrefix(arg, "/dev/mapper/")
		if ok && !strings.Contains(name, "/") && name != "" {
			if e.reg == nil {
				return name, nil
			}
			if _, found := e.reg.Lookup(name); found {
				return name, nil
			}
		}
		return "", usageError(fmt.Sprintf("Device %s not found", arg))
	}
	if len(arg) > dm.MaxNameLen {
		return "", usageError(fmt.Sprintf("Name \"%s\" too long.", arg))
	}
	return e.toKernel(arg, "name", dm.MaxNameLen, fmt.Sprintf("Failed to mangle device name \"%s\".", arg))
}

// kernelUUID is libdm's dm_task_set_uuid: a new device's uuid as the
// kernel gets it, mangled per e.mangling.
func (e *env) kernelUUID(arg string) (string, error) {
	return e.toKernel(arg, "UUID", dm.MaxUUIDLen, fmt.Sprintf("Failed to mangle device uuid \"%s\".", arg))
}

// newKernelName is libdm's dm_task_set_newname (rename): no '/', not too
// long, not empty, then mangled per e.mangling, with libdm's words.
func (e *env) newKernelName(arg string) (string, error) {
	switch {
	case strings.Contains(arg, "/"):
		return "", usageError(fmt.Sprintf("Name \"%s\" invalid. It contains \"/\".", arg))
	case len(arg) > dm.MaxNameLen:
		return "", usageError(fmt.Sprintf("Name \"%s\" too long", arg))
	case arg == "":
		return "", usageError("Non empty new name is required.")
	}
	return e.toKernel(arg, "new name", dm.MaxNameLen, fmt.Sprintf("Failed to mangle new device name \"%s\"", arg))
}

// newKernelUUID is libdm's dm_task_set_newuuid (rename --setuuid): not
// longer than dm.MaxUUIDLen, then mangled per e.mangling.
func (e *env) newKernelUUID(arg string) (string, error) {
	if len(arg) > dm.MaxUUIDLen {
		return "", usageError(fmt.Sprintf("Uuid \"%s\" too long", arg))
	}
	return e.toKernel(arg, "new UUID", dm.MaxUUIDLen, fmt.Sprintf("Failed to mangle new device UUID \"%s\"", arg))
}

// toKernel mangles s (a what) per e.mangling for the kernel (see
// mangledFor).
func (e *env) toKernel(s, what string, maxLen int, failed string) (string, error) {
	return mangledFor(e.mangling, s, what, maxLen, failed)
}

// mangledFor mangles s (a what) per mode for the kernel, whose field holds
// maxLen bytes: libdm's check for a string mangled twice, then
// mangleString; failed is the line libdm adds when mangleString refuses.
func mangledFor(mode nameMangling, s, what string, maxLen int, failed string) (string, error) {
	if err := checkMangledOnce(s, what, mode); err != nil {
		return "", err
	}
	if mode == mangleNone {
		return s, nil
	}
	m, err := mangleString(s, what, maxLen+1, mode)
	if err != nil {
		return "", usageError(err.Error() + "\n" + failed)
	}
	return m, nil
}

// nameArgs is which positional arguments of a command name devices.
type nameArgs int

const (
	noNames   nameArgs = iota
	firstName          // the first (the others are a table file, a sector, ...)
	everyName          // each argument, in turn
)

// takeNames turns the device names among e.args into the kernel's (see
// kernelName). dmsetup runs a command once per name, stopping at the first
// failure, so a name refused after others leaves the command to run on
// those before it: takeNames keeps only them in e.args and returns the
// refusal.
func (e *env) takeNames(which nameArgs) error {
	n := 0
	switch {
	case which == firstName && len(e.args) > 0:
		n = 1
	case which == everyName:
		n = len(e.args)
	}
	for i := 0; i < n; i++ {
		name, err := e.kernelName(e.args[i], false)
		if err != nil {
			e.args = e.args[:i]
			return err
		}
		e.args[i] = name
	}
	return nil
}

// shownInfo is in as libdm returns it from an ioctl: its name, then its
// uuid, decoded per e.mangling (unmangleString, after the check for a
// string mangled twice); mode none leaves them as the kernel holds them.
// A refusal fails the ioctl in libdm, so the command.
func (e *env) shownInfo(in dm.Info) (dm.Info, error) {
	var err error
	if in.Name, err = e.shown(in.Name, "name"); err != nil {
		return in, err
	}
	in.UUID, err = e.shown(in.UUID, "UUID")
	return in, err
}

// shown is s (a what the kernel holds) as libdm decodes it per e.mangling.
func (e *env) shown(s, what string) (string, error) { return shownFor(e.mangling, s, what) }

// shownFor is s (a what the kernel holds) as libdm decodes it per mode.
func shownFor(mode nameMangling, s, what string) (string, error) {
	if mode == mangleNone {
		return s, nil
	}
	if err := checkMangledOnce(s, what, mode); err != nil {
		return "", err
	}
	return unmangleString(s, what, mode)
}

// list is DM_DEVICE_LIST as libdm returns it: every device's info in the
// kernel's order (by name), name and uuid decoded (shownInfo). Any device's
// refusal fails the list, after those of every device are printed.
func (e *env) list() ([]dm.Info, error) {
	var out []dm.Info
	var refused []string
	for _, d := range e.reg.Devices() {
		in := d.Info()
		name, err := e.shown(in.Name, "name")
		if err != nil {
			refused = append(refused, err.Error())
		}
		uuid, err := e.shown(in.UUID, "UUID")
		if err != nil {
			refused = append(refused, err.Error())
		}
		in.Name, in.UUID = name, uuid
		out = append(out, in)
	}
	if len(refused) > 0 {
		return nil, usageError(strings.Join(refused, "\n"))
	}
	return out, nil
}

// eachName runs fn on each device the command names, with the name as
// given (typed) and as the kernel holds it (kernel). Without names it is
// dmsetup's _process_all: every listed device by its shown name, mangled
// again as if given (a name whose decoded form mangles otherwise is then
// not found), "No devices found" when there are none, each failure printed
// and the next device run, the command failing at the end. With names it
// stops at the first failure.
func (e *env) eachName(fn func(typed, kernel string) error) error {
	if len(e.typed) > 0 {
		for i, k := range e.args {
			if err := fn(e.typed[i], k); err != nil {
				return err
			}
		}
		return nil
	}
	infos, err := e.list()
	if err != nil {
		return err
	}
	if len(infos) == 0 {
		fmt.Fprintln(e.stdout, "No devices found")
		return nil
	}
	failed := false
	for _, in := range infos {
		k, err := e.kernelName(in.Name, false)
		if err == nil {
			err = fn(in.Name, k)
		}
		if err != nil {
			printError(e.stderr, err)
			failed = true
		}
	}
	if failed {
		return errFailed
	}
	return nil
}

// manyNames is dmsetup's multiple_devices: whether the command runs on
// other than one named device, and so prefixes its lines with the name.
func (e *env) manyNames() bool { return len(e.typed) != 1 }

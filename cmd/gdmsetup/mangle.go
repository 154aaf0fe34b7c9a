package main

import (
	"fmt"
	"strings"
)

// cmdMangle is `mangle [NAME...]`: rename each named device (or every
// device) to the form of its name --manglename asks for (auto when not
// given; hex mangles as auto): mangled, or with none decoded. As dmsetup,
// names are taken and listed as the kernel holds them (runWith sets mode
// none). A uuid not in that form is reported, not changed (the kernel
// cannot rename a uuid); a name or uuid mangled twice is refused in auto.
func cmdMangle(e *env) error {
	target := mangleAuto
	if e.opts.has("manglename") {
		target, _ = parseMangling(e.opts.str("manglename"))
	}
	return e.eachName(func(typed, kernel string) error {
		d, ok := e.reg.Lookup(kernel)
		if !ok {
			return errFailed
		}
		return e.mangleDevice(typed, kernel, d.UUID(), target)
	})
}

// mangleDevice is dmsetup's _mangle for one device: name is the name as
// given (or listed), kernel the kernel's, uuid the device's.
func (e *env) mangleDevice(name, kernel, uuid string, target nameMangling) error {
	if target == mangleAuto {
		if strings.Contains(name, `\x5cx`) {
			return usageError(fmt.Sprintf("The name \"%s\" seems to be mangled more than once. Manual intervention required to rename the device.", name))
		}
		if strings.Contains(uuid, `\x5cx`) {
			return usageError(fmt.Sprintf("The UUID \"%s\" seems to be mangled more than once. Manual intervention required to correct the device UUID.", uuid))
		}
	}
	newName, newUUID, err := mangledForm(kernel, uuid, target)
	if err != nil {
		return err
	}
	if uuid != newUUID {
		return usageError(fmt.Sprintf("%s: %s: UUID in incorrect form. \nUnable to change device UUID. The device must be deactivated first.", name, uuid))
	}
	if name == newName {
		shownUUID, and := uuid, "and UUID "
		if uuid == "" {
			shownUUID, and = "[no UUID]", ""
		}
		fmt.Fprintf(e.stdout, "%s: %s: name %salready in correct form\n", name, shownUUID, and)
		return nil
	}
	fmt.Fprintf(e.stdout, "%s: renaming to %s\n", name, newName)
	checked, err := e.newKernelName(newName)
	if err != nil {
		return err
	}
	return e.reg.Rename(kernel, checked)
}

// mangledForm is a device's name and uuid in the form target asks for:
// decoded for none, else mangled (libdm's dm_task_get_name_unmangled and
// _mangled with the mode none the mangle command sets).
func mangledForm(name, uuid string, target nameMangling) (string, string, error) {
	if target == mangleNone {
		n, err := unmangleString(name, "name", mangleNone)
		if err != nil {
			return "", "", err
		}
		u, err := unmangleString(uuid, "UUID", mangleNone)
		return n, u, err
	}
	n, err := mangledOf(name, "name", mangleNone)
	if err != nil {
		return "", "", err
	}
	u, err := mangledOf(uuid, "UUID", mangleNone)
	return n, u, err
}

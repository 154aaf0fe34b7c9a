package main

import (
	"fmt"
	"strings"

	"github.com/gdmsetup/gdmsetup/dm"
)

// checkName is libdm's dm_task_set_name for a new device: a name with a
// '/' or longer than dm.MaxNameLen is refused before any ioctl, with
// libdm's words.
func checkName(name string) error {
	if strings.Contains(name, "/") {
		return usageError(fmt.Sprintf("Name %q invalid. It contains \"/\".", name))
	}
	if len(name) > dm.MaxNameLen {
		return usageError(fmt.Sprintf("Name %q too long.", name))
	}
	return nil
}

// checkNewName is libdm's dm_task_set_newname (rename): no '/', not too
// long, not empty, in that order and with libdm's words.
func checkNewName(name string) error {
	switch {
	case strings.Contains(name, "/"):
		return usageError(fmt.Sprintf("Name %q invalid. It contains \"/\".", name))
	case len(name) > dm.MaxNameLen:
		return usageError(fmt.Sprintf("Name %q too long", name))
	case name == "":
		return usageError("Non empty new name is required.")
	}
	return nil
}

// checkNewUUID is libdm's dm_task_set_newuuid (rename --setuuid): not
// longer than dm.MaxUUIDLen.
func checkNewUUID(uuid string) error {
	if len(uuid) > dm.MaxUUIDLen {
		return usageError(fmt.Sprintf("Uuid %q too long", uuid))
	}
	return nil
}

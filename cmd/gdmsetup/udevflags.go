package main

import "fmt"

// udevFlagNames are libdm's names of the low 8 of a cookie's 16 flags
// (DM_UDEV_*_FLAG); the high 8 belong to the subsystem.
var udevFlagNames = []string{"DISABLE_DM_RULES", "DISABLE_SUBSYSTEM_RULES", "DISABLE_DISK_RULES",
	"DISABLE_OTHER_RULES", "LOW_PRIORITY", "DISABLE_LIBRARY_FALLBACK", "PRIMARY_SOURCE"}

// cmdUdevFlags is `udevflags COOKIE`: the udev rule flags the cookie's high
// 16 bits carry, as the environment assignments udev rules read.
func cmdUdevFlags(e *env) error {
	cookie, err := parseCookie(e.args[0])
	if err != nil {
		return err
	}
	flags := cookie >> udevFlagsShift
	for i := range udevFlagsShift {
		switch {
		case flags&(1<<i) == 0:
		case i < len(udevFlagNames):
			fmt.Fprintf(e.stdout, "DM_UDEV_%s_FLAG='1'\n", udevFlagNames[i])
		case i < udevFlagsShift/2:
			fmt.Fprintf(e.stdout, "DM_UDEV_FLAG%d='1'\n", i)
		default:
			fmt.Fprintf(e.stdout, "DM_SUBSYSTEM_UDEV_FLAG%d='1'\n", i-udevFlagsShift/2)
		}
	}
	return nil
}

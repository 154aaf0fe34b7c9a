package main

import "fmt"

// Versions gdmsetup reports: the libdm and dm ioctl interface it reproduces
// (dmsetup 1.02.185 on Linux 6.1).
const (
	libraryVersion = "1.02.185 (2022-05-18)"
	driverVersion  = "4.47.0"
)

// cmdVersion is `version`.
func cmdVersion(e *env) error {
	fmt.Fprintf(e.stdout, "Library version:   %s\n", libraryVersion)
	fmt.Fprintf(e.stdout, "Driver version:    %s\n", driverVersion)
	return nil
}

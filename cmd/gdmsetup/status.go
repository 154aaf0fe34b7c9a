package main

import "github.com/gdmsetup/gdmsetup/dm"

// cmdStatus is `status [NAME...]`: each target's status line.
func cmdStatus(e *env) error {
	return printLines(e, "status", dm.StatusInfo)
}

package main

import "github.com/gdmsetup/gdmsetup/dm"

// cmdMeasure is `measure [NAME...]`: each target's STATUSTYPE_IMA string,
// what the kernel's IMA records of a table (dmsetup sets
// DM_IMA_MEASUREMENT_FLAG on its status task). Its options are status's:
// --inactive, --target TYPE, -v.
func cmdMeasure(e *env) error {
	return printLines(e, "measure", dm.StatusIMA)
}

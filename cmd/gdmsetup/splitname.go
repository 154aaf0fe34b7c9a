package main

// defaultSplitnameFields are the columns of splitname without -o.
const defaultSplitnameFields = "vg_name,lv_name,lv_layer"

// cmdSplitname is `splitname NAME [SUBSYSTEM]`: the name's components as a
// report (default fields vg_name,lv_name,lv_layer). SUBSYSTEM defaults to
// LVM; names of other subsystems are not split.
func cmdSplitname(e *env) error {
	subsystem := "LVM"
	if len(e.args) == 2 {
		subsystem = e.args[1]
	}
	return e.rep.output(e.stdout, e.stderr, []*reportObj{{split: splitDeviceName(subsystem, e.args[0]), stderr: e.stderr}})
}

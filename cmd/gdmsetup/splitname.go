package main

// cmdSplitname is `splitname NAME [SUBSYSTEM]`: the name's components as a
// report (default fields vg_name,lv_name,lv_layer). SUBSYSTEM defaults to
// LVM; names of other subsystems are not split.
func cmdSplitname(e *env) error {
	subsystem := "LVM"
	if len(e.args) == 2 {
		subsystem = e.args[1]
	}
	r, err := newReport(e, []reportSection{splitNameSection}, "vg_name,lv_name,lv_layer")
	if err != nil {
		if err == errReportHelp {
			return nil
		}
		return err
	}
	return r.output(e.stdout, e.stderr, []*reportObj{{split: splitDeviceName(subsystem, e.args[0]), stderr: e.stderr}})
}

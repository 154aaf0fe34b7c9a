package main

// setupError is a command line dmsetup refuses while it sets the command
// up, after reading the options and before running it (a report's fields
// or selection, --units): printed as is, with no "Command failed." after it.
type setupError string

func (e setupError) Error() string { return string(e) }

// setUp is what dmsetup does between reading the command line and running
// the command: a command that shows columns (-c, splitname, stats) has its
// report laid out from -o, -O and -S (e.rep), then --units is read.
func (e *env) setUp(name string) error {
	if e.opts.has("columns") || name == "splitname" || name == "stats" {
		if e.opts.has("sort") && (name == "status" || name == "table") {
			return setupError("--sort is not yet supported with status and table.")
		}
		sections, defaults := reportLayout(e, name)
		r, err := newReport(e, sections, defaults)
		if err != nil {
			return err
		}
		e.rep = r
	}
	if e.opts.has("units") {
		if factor, _ := unitsToFactor(e.opts.str("units")); factor == 0 {
			return setupError("Invalid --units argument.")
		}
	}
	return nil
}

// reportLayout is the sections and default fields of the report command
// name shows: splitname's and stats' own, the device report otherwise.
func reportLayout(e *env, name string) ([]reportSection, string) {
	switch name {
	case "splitname":
		return []reportSection{splitNameSection}, defaultSplitnameFields
	case "stats":
		return statsReportSections, statsDefaultFields(e, e.args[0] == "list")
	}
	return deviceReportSections, defaultInfoFields
}

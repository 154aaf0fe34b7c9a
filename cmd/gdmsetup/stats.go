package main

import (
	"fmt"
	"strconv"
	"strings"
)

// statsSubcommands are `stats`'s subcommands, as dmsetup 1.02's.
var statsSubcommands = map[string]func(e *env) error{
	"create": cmdStatsCreate,
	"delete": cmdStatsDelete,
	"clear":  cmdStatsClear,
	"print":  cmdStatsPrint,
	"list":   cmdStatsReport,
	"report": cmdStatsReport,
}

// cmdStats is `stats SUBCOMMAND [OPTIONS] [DEVICE...]`: I/O statistics
// regions of mapped devices, through the core's @stats_* messages, as
// dmsetup's stats commands (libdm-stats) send them.
func cmdStats(e *env) error {
	sub, ok := statsSubcommands[e.args[0]]
	if !ok {
		return usageError("Unknown stats command.")
	}
	switch {
	case e.opts.has("allprograms") && e.opts.has("programid"):
		return usageError("Please supply one of --allprograms and --programid")
	case e.opts.has("allregions") && e.opts.has("regionid"):
		return usageError("Please supply one of --allregions and --regionid")
	}
	return sub(e)
}

// statsNumber is an option dmsetup reads with atoi (0 when absent or not a number).
func statsNumber(e *env, name string) uint64 { return uint64(atoi(e.opts.str(name))) }

// statsSizeBytes is dmsetup's _size_from_string: a number of sectors, or
// with a unit (b, s, k, m, g, t, p, e; capitals are powers of 1000) of bytes.
func statsSizeBytes(e *env, name string) (uint64, error) {
	s := e.opts.str(name)
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	if end == 0 {
		return 0, usageError(fmt.Sprintf("Invalid %s argument: \"%s\"", name, s))
	}
	v, _ := strconv.ParseUint(s[:end], 10, 64)
	if end == len(s) {
		return v * 512, nil
	}
	return v * unitFactor(s[end:]), nil
}

// unitFactor is libdm's dm_units_to_factor for a unit letter (0 when unknown).
func unitFactor(u string) uint64 {
	if len(u) != 1 {
		return 0
	}
	c := u[0]
	switch c {
	case 'b', 'B':
		return 1
	case 's', 'S':
		return 512
	}
	const lower, upper = "kmgtpe", "KMGTPE"
	if i := strings.IndexByte(lower, c); i >= 0 {
		return 1 << (10 * (i + 1))
	}
	if i := strings.IndexByte(upper, c); i >= 0 {
		f := uint64(1)
		for ; i >= 0; i-- {
			f *= 1000
		}
		return f
	}
	return 0
}

// statsEachDevice runs fn on each device named, or on every device when
// none is and all allows it; otherwise none named is dmsetup's error.
func statsEachDevice(e *env, all bool, fn func(name string) error) error {
	if len(e.args) == 1 && !all {
		return usageError("Please specify device(s) or use --alldevices.")
	}
	names, err := statsDevices(e)
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := fn(name); err != nil {
			return err
		}
	}
	return nil
}

// cmdStatsCreate is `stats create`: a region over the device, or
// --start/--length of it, in --areas areas or areas of --areasize, with
// --programid (dmstats), --userdata, --precise and --bounds.
func cmdStatsCreate(e *env) error {
	o := e.opts
	switch {
	case o.has("allregions"):
		return usageError("Cannot use --allregions with create.")
	case o.has("allprograms"):
		return usageError("Cannot use --allprograms with create.")
	case o.has("areas") && o.has("areasize"):
		return usageError("Please specify one of --areas and --areasize.")
	case o.has("programid") && o.str("programid") == "" && !o.has("force"):
		return usageError("Creating a region with no program id requires --force.")
	}
	return statsEachDevice(e, o.has("alldevices"), func(name string) error {
		areas := max(statsNumber(e, "areas"), 1)
		var areaSize, start, length uint64
		var err error
		if o.has("areasize") {
			if areaSize, err = statsSizeBytes(e, "areasize"); err != nil {
				return err
			}
		}
		if o.has("start") {
			if start, err = statsSizeBytes(e, "start"); err != nil {
				return err
			}
		}
		if o.has("length") {
			if length, err = statsSizeBytes(e, "length"); err != nil {
				return err
			}
		}
		start, length = start/512, length/512
		step := fmt.Sprintf("/%d", areas)
		nAreas := areas
		if areaSize/512 > 0 {
			step = fmt.Sprint(areaSize / 512)
		}
		if err := statsDeviceExists(e, "table", name); err != nil {
			return err
		}
		d, _ := e.reg.Lookup(name)
		if length == 0 {
			length = d.LenSectors()
		}
		if areaSize/512 > 0 {
			nAreas = 1
			if length > 0 {
				nAreas = (length + areaSize/512 - 1) / (areaSize / 512)
			}
		} else if length == 0 {
			nAreas = 1
		}
		rng := "-"
		if start != 0 || length != 0 {
			rng = fmt.Sprintf("%d+%d", start, length)
		}
		var features []string
		if o.has("precise") {
			features = append(features, "precise_timestamps")
		}
		if o.has("bounds") {
			b, ok := statsBounds(o.str("bounds"))
			if !ok {
				return usageError(fmt.Sprintf("Could not parse histogram boundary string: %s", o.str("bounds")))
			}
			features = append(features, "histogram:"+b)
		}
		words := []string{"@stats_create", rng, step}
		if len(features) > 0 {
			words = append(words, fmt.Sprint(len(features)))
			words = append(words, features...)
		}
		program := defaultStatsProgram
		if o.has("programid") && o.str("programid") != "" {
			program = o.str("programid")
		}
		words = append(words, program, o.str("userdata"))
		shown, err := e.shown(name, "name")
		if err != nil {
			return err
		}
		reply, err := statsMessage(e, name, words...)
		if err != nil {
			printError(e.stderr, err)
			return usageError(shown + ": Could not create statistics region.")
		}
		id, _ := strconv.ParseUint(strings.TrimSpace(reply), 10, 64)
		fmt.Fprintf(e.stdout, "%s: Created new region with %d area(s) as region ID %d\n", shown, nAreas, id)
		return nil
	})
}

// statsBounds turns --bounds (comma-separated times with an optional unit
// ns, us, ms or s; milliseconds without one) into the kernel's boundaries
// in nanoseconds.
func statsBounds(s string) (string, bool) {
	var out []string
	for _, b := range strings.Split(s, ",") {
		end := 0
		for end < len(b) && b[end] >= '0' && b[end] <= '9' {
			end++
		}
		if end == 0 {
			return "", false
		}
		v, _ := strconv.ParseUint(b[:end], 10, 64)
		mult := map[string]uint64{"": 1_000_000, "ns": 1, "us": 1000, "ms": 1_000_000, "s": 1_000_000_000}[b[end:]]
		if mult == 0 {
			return "", false
		}
		out = append(out, fmt.Sprint(v*mult))
	}
	return strings.Join(out, ","), true
}

// cmdStatsDelete is `stats delete --regionid ID | --allregions`: of the
// program's regions (--programid, dmstats; --allprograms).
func cmdStatsDelete(e *env) error {
	o := e.opts
	if !o.has("regionid") && !o.has("allregions") {
		return usageError("Please specify a --regionid or --groupid, or use --allregions.")
	}
	program := defaultStatsProgram
	if o.has("programid") {
		program = o.str("programid")
	}
	if o.has("allprograms") {
		program = ""
	}
	return statsEachDevice(e, o.has("alldevices"), func(name string) error {
		if err := statsDeviceExists(e, "message", name); err != nil {
			return err
		}
		if o.has("allregions") {
			regions, err := listStatsRegions(e, name, program)
			if err != nil {
				return err
			}
			for _, s := range regions {
				if _, err := statsMessage(e, name, "@stats_delete", fmt.Sprint(s.id)); err != nil {
					printError(e.stderr, err)
					return usageError("Could not delete statistics region.")
				}
			}
			return nil
		}
		id := statsNumber(e, "regionid")
		listProgram := program
		if listProgram == "" {
			listProgram = "dmsetup"
		}
		regions, err := listStatsRegions(e, name, listProgram)
		if err != nil {
			return err
		}
		fail := func(why string) error {
			fmt.Fprintln(e.stderr, why)
			return usageError("Could not delete statistics region")
		}
		if len(regions) == 0 {
			return fail(fmt.Sprintf("Could not delete region ID %d: no regions found", id))
		}
		if !statsRegionListed(regions, id) {
			return fail(fmt.Sprintf("Region ID %d does not exist", id))
		}
		if _, err := statsMessage(e, name, "@stats_delete", fmt.Sprint(id)); err != nil {
			printError(e.stderr, err)
			return usageError("Could not delete statistics region")
		}
		return nil
	})
}

func statsRegionListed(regions []statsRegionInfo, id uint64) bool {
	for _, s := range regions {
		if s.id == id {
			return true
		}
	}
	return false
}

// cmdStatsClear is `stats clear --regionid ID | --allregions`: the
// counters of regions of any program go back to zero.
func cmdStatsClear(e *env) error {
	o := e.opts
	if !o.has("regionid") && !o.has("allregions") {
		return usageError("Please specify a --regionid or use --allregions.")
	}
	return statsEachDevice(e, true, func(name string) error {
		if err := statsDeviceExists(e, "message", name); err != nil {
			return err
		}
		regions, err := listStatsRegions(e, name, defaultStatsProgram)
		if err != nil || len(regions) == 0 {
			return err
		}
		if !o.has("allregions") {
			id := statsNumber(e, "regionid")
			if !statsRegionListed(regions, id) {
				return usageError(fmt.Sprintf("No such region: %d.", id))
			}
			regions = []statsRegionInfo{{id: id}}
		}
		for _, s := range regions {
			if _, err := statsMessage(e, name, "@stats_clear", fmt.Sprint(s.id)); err != nil {
				printError(e.stderr, err)
				return usageError(fmt.Sprintf("Clearing statistics region %d failed.", s.id))
			}
		}
		return nil
	})
}

// cmdStatsPrint is `stats print --regionid ID | --allregions [--clear]`:
// the kernel's @stats_print lines. As dmsetup 1.02.185 does, --allregions
// prints each region twice (and with --clear, clears it after the first).
func cmdStatsPrint(e *env) error {
	o := e.opts
	if !o.has("regionid") && !o.has("allregions") {
		return usageError("Please specify a --regionid or use --allregions.")
	}
	clear := o.has("clear")
	return statsEachDevice(e, true, func(name string) error {
		if err := statsDeviceExists(e, "message", name); err != nil {
			return err
		}
		regions, err := listStatsRegions(e, name, defaultStatsProgram)
		if err != nil {
			return err
		}
		ids := []uint64{statsNumber(e, "regionid")}
		times := 1
		if o.has("allregions") {
			ids, times = nil, 2
			for _, s := range regions {
				ids = append(ids, s.id)
			}
		}
		for _, id := range ids {
			for range times {
				reply, err := printStatsRegion(e, name, id, clear)
				if err != nil {
					printError(e.stderr, err)
					return usageError("Could not print statistics region.")
				}
				fmt.Fprint(e.stdout, reply)
			}
		}
		return nil
	})
}

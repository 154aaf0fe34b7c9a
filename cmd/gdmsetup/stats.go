package main

import (
	"fmt"
	"strconv"
	"strings"
)

// statsSubcommands are `stats`'s subcommands, as dmsetup 1.02's.
var statsSubcommands = map[string]func(e *env) error{
	"create":         cmdStatsCreate,
	"delete":         cmdStatsDelete,
	"clear":          cmdStatsClear,
	"print":          cmdStatsPrint,
	"group":          cmdStatsGroup,
	"ungroup":        cmdStatsUngroup,
	"update_filemap": cmdStatsUpdateFilemap,
	"list":           cmdStatsReport,
	"report":         cmdStatsReport,
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
// with units (see unitsToFactor) of bytes; unknown units leave the number
// as bytes.
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
	if f, _ := unitsToFactor(s[end:]); f != 0 {
		v *= f
	}
	return v, nil
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
// --start/--length of it, or with --segments one over each target (grouped
// unless --nogroup, the group named --alias), in --areas areas or areas of
// --areasize, with --programid (dmstats), --userdata, --precise and
// --bounds (a latency histogram).
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
	case o.has("filemap"):
		return usageError("--filemap is not supported: gdmsetup's devices are not block devices, so no file system on one can map a file's extents (FIEMAP) to it.")
	}
	return statsEachDevice(e, o.has("alldevices"), func(name string) error {
		var areaSize, start, length uint64
		var err error
		for _, opt := range []struct {
			name string
			v    *uint64
		}{{"areasize", &areaSize}, {"start", &start}, {"length", &length}} {
			if o.has(opt.name) {
				if *opt.v, err = statsSizeBytes(e, opt.name); err != nil {
					return err
				}
			}
		}
		areas := max(statsNumber(e, "areas"), 1)
		step := fmt.Sprintf("/%d", areas)
		if areaSize != 0 {
			step = fmt.Sprint(areaSize / 512)
		}
		nAreas := func(lenSectors uint64) uint64 {
			switch {
			case areaSize == 0:
				return areas
			case areaSize/512 == 0 || lenSectors == 0:
				return 1
			}
			return (lenSectors + areaSize/512 - 1) / (areaSize / 512)
		}
		program := defaultStatsProgram
		if o.has("programid") && (o.str("programid") != "" || o.has("force")) {
			program = o.str("programid")
		}
		return createStatsRegions(e, name, start/512, length/512, step, nAreas, program)
	})
}

// createStatsRegions is libdm's _do_stats_create_regions for device name:
// one region of lenSectors at startSectors (the whole device for 0+0) or,
// with --segments, one per target, each in areas given by step.
func createStatsRegions(e *env, name string, startSectors, lenSectors uint64, step string, nAreas func(uint64) uint64, program string) error {
	o := e.opts
	segments := o.has("segments")
	if o.has("alias") && o.has("nogroup") {
		return usageError("Cannot set alias with --nogroup.")
	}
	var features []string
	var bounds []uint64
	if o.has("bounds") {
		b, err := parseHistogramBounds(o.str("bounds"))
		if err != nil {
			printError(e.stderr, usageError(err.Error()))
			return errFailed
		}
		bounds = b
	}
	lines, err := e.reg.Lines(name, false, false)
	if err != nil {
		return err
	}
	shown, err := e.shown(name, "name")
	if err != nil {
		return err
	}
	precise := o.has("precise")
	histogram := ""
	if bounds != nil {
		if histogram, precise, err = histogramArg(bounds, precise); err != nil {
			return statsFail(e.stderr, usageError(err.Error()), shown+": Could not create statistics region.")
		}
	}
	if precise {
		features = append(features, "precise_timestamps")
	}
	if histogram != "" {
		features = append(features, "histogram:"+histogram)
	}
	type extent struct{ start, len uint64 }
	var extents []extent
	if segments {
		for _, l := range lines {
			extents = append(extents, extent{l.Start, l.Len})
		}
	} else {
		if lenSectors == 0 {
			for _, l := range lines {
				lenSectors += l.Len
			}
		}
		extents = []extent{{startSectors, lenSectors}}
	}
	var ids []string
	for _, x := range extents {
		rng := "-"
		if x.start != 0 || x.len != 0 {
			rng = fmt.Sprintf("%d+%d", x.start, x.len)
		}
		words := []string{"@stats_create", rng, step}
		if len(features) > 0 {
			words = append(append(words, fmt.Sprint(len(features))), features...)
		}
		words = append(words, program, o.str("userdata"))
		reply, err := statsMessage(e, name, words...)
		if err != nil {
			return statsFail(e.stderr, err, shown+": Could not create statistics region.")
		}
		id := strings.TrimSpace(reply)
		fmt.Fprintf(e.stdout, "%s: Created new region with %d area(s) as region ID %s\n", shown, nAreas(x.len), id)
		ids = append(ids, id)
	}
	if !segments || o.has("nogroup") {
		return nil
	}
	regions := strings.Join(ids, ",")
	h, err := listedStatsHandle(e, name)
	if err != nil {
		return err
	}
	gid, err := h.createGroup(regions, o.str("alias"))
	if err != nil {
		printError(e.stderr, err)
		return usageError(fmt.Sprintf("Failed to create group for regions %s.", regions))
	}
	with := ""
	if o.has("alias") {
		with = " with alias " + o.str("alias")
	}
	fmt.Fprintf(e.stdout, "Grouped regions %s as group ID %d%s\n", regions, gid, with)
	return nil
}

// cmdStatsDelete is `stats delete --regionid ID | --groupid ID |
// --allregions`: of the program's regions (--programid, dmstats;
// --allprograms); a group's regions all go.
func cmdStatsDelete(e *env) error {
	o := e.opts
	switch {
	case o.has("regionid") && o.has("groupid"):
		return usageError("Please use one of --regionid and --groupid.")
	case !o.has("regionid") && !o.has("allregions") && !o.has("groupid"):
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
		// libdm names a handle made for no program after the process
		handleProgram := program
		if handleProgram == "" {
			handleProgram = "dmsetup"
		}
		h := newStatsHandle(e, name, handleProgram)
		if o.has("allregions") || o.has("groupid") {
			if err := h.list(program); err != nil {
				return err
			}
		}
		switch {
		case o.has("groupid"):
			gid := statsNumber(e, "groupid")
			if err := h.deleteGroup(gid, true); err != nil {
				return statsFail(e.stderr, err, "Could not delete statistics group.")
			}
			fmt.Fprintf(e.stdout, "Deleted statistics group %d.\n", gid)
		case o.has("allregions"):
			for _, s := range h.present() {
				if err := h.deleteRegion(s.id); err != nil {
					return statsFail(e.stderr, err, "Could not delete statistics region.")
				}
			}
		default:
			if err := h.deleteRegion(statsNumber(e, "regionid")); err != nil {
				return statsFail(e.stderr, err, "Could not delete statistics region")
			}
		}
		return nil
	})
}

// cmdStatsClear is `stats clear --regionid ID | --allregions`: the
// counters of dmstats regions go back to zero.
func cmdStatsClear(e *env) error {
	o := e.opts
	if !o.has("regionid") && !o.has("allregions") {
		return usageError("Please specify a --regionid or use --allregions.")
	}
	return statsEachDevice(e, true, func(name string) error {
		h, err := listedStatsHandle(e, name)
		if err != nil {
			return err
		}
		regions := h.present()
		if len(regions) == 0 {
			return nil
		}
		if !o.has("allregions") {
			id := statsNumber(e, "regionid")
			if h.region(id) == nil {
				return usageError(fmt.Sprintf("No such region: %d.", id))
			}
			regions = []*statsRegion{h.region(id)}
		}
		for _, s := range regions {
			if _, err := statsMessage(e, name, "@stats_clear", fmt.Sprint(s.id)); err != nil {
				return statsFail(e.stderr, err, fmt.Sprintf("Clearing statistics region %d failed.", s.id))
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
		h, err := listedStatsHandle(e, name)
		if err != nil {
			return err
		}
		ids := []uint64{statsNumber(e, "regionid")}
		times := 1
		if o.has("allregions") {
			ids, times = nil, 2
			for _, s := range h.present() {
				ids = append(ids, s.id)
			}
		}
		for _, id := range ids {
			for range times {
				reply, err := printStatsRegion(e, name, id, clear)
				if err != nil {
					return statsFail(e.stderr, err, "Could not print statistics region.")
				}
				fmt.Fprint(e.stdout, reply)
			}
		}
		return nil
	})
}

// cmdStatsUpdateFilemap is `stats update_filemap`, which gdmsetup does not
// have (see --filemap).
func cmdStatsUpdateFilemap(*env) error {
	return usageError("update_filemap is not supported: gdmsetup's devices are not block devices, so no file system on one can map a file's extents (FIEMAP) to it.")
}

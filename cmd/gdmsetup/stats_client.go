package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gdmsetup/gdmsetup/dm"
)

// defaultStatsProgram is the program id dmsetup's stats commands create,
// list and delete regions under unless told otherwise (DM_STATS_PROGRAM_ID).
const defaultStatsProgram = "dmstats"

// statsRegionInfo is one region as @stats_list lists it, read as libdm's
// _stats_parse_list_region reads it: a program id or aux data of "-" is
// empty.
type statsRegionInfo struct {
	id, startSectors, lenSectors, stepSectors uint64
	programID, auxData                        string
	precise                                   bool
	histogram                                 string
}

// areaCount is the region's number of areas (a last partial one counted).
func (s *statsRegionInfo) areaCount() uint64 {
	if s.lenSectors == 0 || s.stepSectors == 0 {
		return 1
	}
	return (s.lenSectors + s.stepSectors - 1) / s.stepSectors
}

// statsAreaCounters are one area's counters as @stats_print prints them,
// its times in nanoseconds (libdm's dm_stats_counters).
type statsAreaCounters struct {
	reads, readsMerged, readSectors, readNsecs     uint64
	writes, writesMerged, writeSectors, writeNsecs uint64
	inProgress, ioNsecs, weightedIONsecs           uint64
	totalReadNsecs, totalWriteNsecs                uint64
}

// statsMessage sends a message to the dm core of device name, as libdm's
// stats functions do, and returns the reply.
func statsMessage(e *env, name string, words ...string) (string, error) {
	return e.reg.Message(name, 0, strings.Fields(strings.Join(words, " ")))
}

// listStatsRegions lists the regions of device name created by program
// ("" for every program), as dm_stats_list: @stats_list PROGRAM.
func listStatsRegions(e *env, name, program string) ([]statsRegionInfo, error) {
	reply, err := statsMessage(e, name, "@stats_list", program)
	if err != nil {
		return nil, err
	}
	var out []statsRegionInfo
	for _, line := range strings.SplitAfter(reply, "\n") {
		if line == "" {
			continue
		}
		s, ok := parseStatsListLine(line)
		if !ok {
			return nil, usageError("Could not parse @stats_list response.")
		}
		out = append(out, s)
	}
	return out, nil
}

// parseStatsListLine reads "<id>: <start>+<len> <step> <program_id>
// <aux_data>[ <features>]\n". As libdm, it drops the last character of
// the aux data (meant to be the newline), even when features follow it.
func parseStatsListLine(line string) (statsRegionInfo, bool) {
	var s statsRegionInfo
	idText, rest, ok := strings.Cut(line, ": ")
	if !ok {
		return s, false
	}
	words := strings.SplitN(rest, " ", 3)
	if len(words) < 3 {
		return s, false
	}
	start, length, ok := strings.Cut(words[0], "+")
	var err [4]error
	s.id, err[0] = strconv.ParseUint(idText, 10, 64)
	s.startSectors, err[1] = strconv.ParseUint(start, 10, 64)
	s.lenSectors, err[2] = strconv.ParseUint(length, 10, 64)
	s.stepSectors, err[3] = strconv.ParseUint(words[1], 10, 64)
	for _, e := range err {
		if e != nil {
			return s, false
		}
	}
	data := words[2]
	prog, aux, found := strings.Cut(data, " ")
	if !found {
		return s, ok
	}
	if !strings.HasPrefix(prog, "-") {
		s.programID = prog
	}
	aux, features, _ := strings.Cut(aux, " ")
	if !strings.HasPrefix(aux, "-") && aux != "" {
		s.auxData = aux[:len(aux)-1]
	}
	s.precise = strings.Contains(features, "precise_timestamps")
	if _, h, ok := strings.Cut(features, "histogram:"); ok {
		s.histogram = strings.TrimSpace(h)
	}
	return s, ok
}

// printStatsRegion returns @stats_print[_clear] ID's reply for device name.
func printStatsRegion(e *env, name string, id uint64, clear bool) (string, error) {
	verb := "@stats_print"
	if clear {
		verb += "_clear"
	}
	return statsMessage(e, name, verb, fmt.Sprint(id))
}

// parseStatsPrint reads @stats_print's lines: each area's counters, times
// made nanoseconds (milliseconds unless the region is precise).
func parseStatsPrint(reply string, precise bool) []statsAreaCounters {
	scale := uint64(1_000_000)
	if precise {
		scale = 1
	}
	var out []statsAreaCounters
	for _, line := range strings.Split(strings.TrimSuffix(reply, "\n"), "\n") {
		f := strings.Fields(line)
		if len(f) < 14 {
			continue
		}
		var v [13]uint64
		for i := range v {
			v[i], _ = strconv.ParseUint(f[i+1], 10, 64)
		}
		out = append(out, statsAreaCounters{
			reads: v[0], readsMerged: v[1], readSectors: v[2], readNsecs: v[3] * scale,
			writes: v[4], writesMerged: v[5], writeSectors: v[6], writeNsecs: v[7] * scale,
			inProgress: v[8], ioNsecs: v[9] * scale, weightedIONsecs: v[10] * scale,
			totalReadNsecs: v[11] * scale, totalWriteNsecs: v[12] * scale,
		})
	}
	return out
}

// statsDevices is the kernel's names of the devices a stats subcommand
// works on: those named (mangled per --manglename, see kernelName), else
// every device (dmsetup's _process_all).
func statsDevices(e *env) ([]string, error) {
	var names []string
	if len(e.args) > 1 {
		for _, arg := range e.args[1:] {
			name, err := e.kernelName(arg, false)
			if err != nil {
				return nil, err
			}
			names = append(names, name)
		}
		return names, nil
	}
	for _, d := range e.reg.Devices() {
		names = append(names, d.Name())
	}
	return names, nil
}

// statsDeviceExists checks a named device, with dmsetup's error for a
// missing one (the ioctl op names libdm's first task on it).
func statsDeviceExists(e *env, op, name string) error {
	if _, ok := e.reg.Lookup(name); !ok {
		return &dm.IoctlError{Op: op, Name: name, Errno: enxio}
	}
	return nil
}

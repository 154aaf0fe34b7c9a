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

// statsNoGroup is a region's group id when it is in none (DM_STATS_GROUP_NONE).
const statsNoGroup = ^uint64(0)

// statsRegion is one region as @stats_list lists it, read as libdm's
// _stats_parse_list_region reads it (a program id or aux data of "-" is
// empty), with its group and, once populated, its areas' counters.
type statsRegion struct {
	id, startSectors, lenSectors, stepSectors uint64
	programID                                 string
	// auxData is the user's: a group tag is taken out of it (see
	// parseGroupTag).
	auxData string
	precise bool
	// bounds are the histogram bins' upper bounds in nanoseconds, the last
	// one MaxUint64; nil without a histogram.
	bounds   []uint64
	groupID  uint64
	counters []statsAreaCounters
}

// areaCount is the region's number of areas (a last partial one counted).
func (s *statsRegion) areaCount() uint64 {
	if s.lenSectors == 0 || s.stepSectors == 0 {
		return 1
	}
	return (s.lenSectors + s.stepSectors - 1) / s.stepSectors
}

// statsAreaCounters are one area's counters as @stats_print prints them,
// its times in nanoseconds (libdm's dm_stats_counters), and its histogram
// bins' counts.
type statsAreaCounters struct {
	reads, readsMerged, readSectors, readNsecs     uint64
	writes, writesMerged, writeSectors, writeNsecs uint64
	inProgress, ioNsecs, weightedIONsecs           uint64
	totalReadNsecs, totalWriteNsecs                uint64
	hist                                           []uint64
}

// add adds o's counters (and histogram counts, when both have them) to c.
func (c *statsAreaCounters) add(o *statsAreaCounters) {
	c.reads += o.reads
	c.readsMerged += o.readsMerged
	c.readSectors += o.readSectors
	c.readNsecs += o.readNsecs
	c.writes += o.writes
	c.writesMerged += o.writesMerged
	c.writeSectors += o.writeSectors
	c.writeNsecs += o.writeNsecs
	c.inProgress += o.inProgress
	c.ioNsecs += o.ioNsecs
	c.weightedIONsecs += o.weightedIONsecs
	c.totalReadNsecs += o.totalReadNsecs
	c.totalWriteNsecs += o.totalWriteNsecs
	for i := range min(len(c.hist), len(o.hist)) {
		c.hist[i] += o.hist[i]
	}
}

// statsMessage sends a message to the dm core of device name, as libdm's
// stats functions do, and returns the reply.
func statsMessage(e *env, name string, words ...string) (string, error) {
	return e.reg.Message(name, 0, strings.Fields(strings.Join(words, " ")))
}

// parseStatsListLine reads "<id>: <start>+<len> <step> <program_id>
// <aux_data>[ <features>]\n". As libdm, it drops the last character of
// the aux data (meant to be the newline), even when features follow it.
func parseStatsListLine(line string) (*statsRegion, bool) {
	s := &statsRegion{groupID: statsNoGroup}
	idText, rest, ok := strings.Cut(line, ": ")
	if !ok {
		return nil, false
	}
	words := strings.SplitN(rest, " ", 3)
	if len(words) < 3 {
		return nil, false
	}
	start, length, _ := strings.Cut(words[0], "+")
	var err [4]error
	s.id, err[0] = strconv.ParseUint(idText, 10, 64)
	s.startSectors, err[1] = strconv.ParseUint(start, 10, 64)
	s.lenSectors, err[2] = strconv.ParseUint(length, 10, 64)
	s.stepSectors, err[3] = strconv.ParseUint(words[1], 10, 64)
	for _, e := range err {
		if e != nil {
			return nil, false
		}
	}
	prog, aux, found := strings.Cut(words[2], " ")
	if !found {
		return s, true
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
		scale := uint64(nsPerMsec)
		if s.precise {
			scale = 1
		}
		for _, b := range strings.Split(strings.TrimSpace(h), ",") {
			v, err := strconv.ParseUint(b, 10, 64)
			if err != nil {
				return nil, false
			}
			s.bounds = append(s.bounds, v*scale)
		}
		s.bounds = append(s.bounds, ^uint64(0))
	}
	return s, true
}

// printStatsRegion returns @stats_print[_clear] ID's reply for device name.
func printStatsRegion(e *env, name string, id uint64, clear bool) (string, error) {
	verb := "@stats_print"
	if clear {
		verb += "_clear"
	}
	return statsMessage(e, name, verb, fmt.Sprint(id))
}

// parseStatsPrint reads @stats_print's lines for region s: each area's
// counters, times made nanoseconds (milliseconds unless the region is
// precise), and its histogram's counts.
func parseStatsPrint(reply string, s *statsRegion) []statsAreaCounters {
	scale := uint64(nsPerMsec)
	if s.precise {
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
		c := statsAreaCounters{
			reads: v[0], readsMerged: v[1], readSectors: v[2], readNsecs: v[3] * scale,
			writes: v[4], writesMerged: v[5], writeSectors: v[6], writeNsecs: v[7] * scale,
			inProgress: v[8], ioNsecs: v[9] * scale, weightedIONsecs: v[10] * scale,
			totalReadNsecs: v[11] * scale, totalWriteNsecs: v[12] * scale,
		}
		if s.bounds != nil {
			c.hist = make([]uint64, len(s.bounds))
			if len(f) > 14 {
				for i, n := range strings.Split(f[14], ":") {
					if i < len(c.hist) {
						c.hist[i], _ = strconv.ParseUint(n, 10, 64)
					}
				}
			}
		}
		out = append(out, c)
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

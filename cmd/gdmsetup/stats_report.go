package main

import (
	"fmt"
	"strconv"
)

// statsRow is one row of `stats list` or `stats report`: a region (area
// -1: its areas' counters summed) or one of its areas.
type statsRow struct {
	device   string
	region   statsRegionInfo
	area     int64
	counters statsAreaCounters
	// units is --units' letter and factor in bytes (0: human-readable sizes)
	unitLetter byte
	unitBytes  uint64
}

// size shows sectors as dmsetup's size fields do: human-readable in
// powers of 1024 ("8.00m", "0"), or in --units without a suffix.
func (r *statsRow) size(sectors uint64) string {
	if sectors == 0 {
		return "0"
	}
	b := float64(sectors) * 512
	if r.unitBytes != 0 {
		if r.unitLetter == 's' || r.unitLetter == 'S' || r.unitLetter == 'b' || r.unitLetter == 'B' {
			return strconv.FormatUint(sectors*512/r.unitBytes, 10)
		}
		return fmt.Sprintf("%.2f", b/float64(r.unitBytes))
	}
	const prefixes = "ePTGMK"
	unit := float64(uint64(1) << 60)
	for i := range len(prefixes) {
		if b >= unit {
			return fmt.Sprintf("%.2f%c", b/unit, "eptgmk"[i])
		}
		unit /= 1024
	}
	return fmt.Sprintf("%.2fb", b)
}

// areaStart is the row's first sector (the region's for a region row).
func (r *statsRow) areaStart() uint64 {
	if r.area < 0 {
		return r.region.startSectors
	}
	return r.region.startSectors + uint64(r.area)*r.region.stepSectors
}

// areaLen is the row's length: the region's step for a region row, the
// area's sectors (the last may be shorter) otherwise.
func (r *statsRow) areaLen() uint64 {
	if r.area < 0 {
		return r.region.stepSectors
	}
	end := r.region.startSectors + r.region.lenSectors
	return min(r.region.stepSectors, end-r.areaStart())
}

func statsText(f func(r *statsRow) string) func(o *reportObj) (string, error) {
	return func(o *reportObj) (string, error) { return f(o.stats), nil }
}

func statsNum(f func(r *statsRow) uint64) func(o *reportObj) (string, error) {
	return func(o *reportObj) (string, error) { return strconv.FormatUint(f(o.stats), 10), nil }
}

func statsSize(f func(r *statsRow) uint64) func(o *reportObj) (string, error) {
	return func(o *reportObj) (string, error) { return o.stats.size(f(o.stats)), nil }
}

func statsCounter(f func(c *statsAreaCounters) uint64) func(o *reportObj) (string, error) {
	return func(o *reportObj) (string, error) { return strconv.FormatUint(f(&o.stats.counters), 10), nil }
}

// statsReportSections are dmsetup's stats fields: the counters, then the
// region and area information. The rates and latency histograms of
// dmsetup's are not among them.
var statsReportSections = []reportSection{
	{"Mapped Device Statistics", "stats_", []*reportField{
		{"read_count", "#Reads", 6, true, "Count of reads completed.", statsCounter(func(c *statsAreaCounters) uint64 { return c.reads })},
		{"reads_merged_count", "#RdMrgs", 7, true, "Count of read requests merged.", statsCounter(func(c *statsAreaCounters) uint64 { return c.readsMerged })},
		{"read_sector_count", "#RdSectors", 10, true, "Count of sectors read.", statsCounter(func(c *statsAreaCounters) uint64 { return c.readSectors })},
		{"read_time", "AccRdTime", 11, true, "Accumulated duration of all read requests (ns).", statsCounter(func(c *statsAreaCounters) uint64 { return c.readNsecs })},
		{"write_count", "#Writes", 7, true, "Count of writes completed.", statsCounter(func(c *statsAreaCounters) uint64 { return c.writes })},
		{"writes_merged_count", "#WrMrgs", 7, true, "Count of write requests merged.", statsCounter(func(c *statsAreaCounters) uint64 { return c.writesMerged })},
		{"write_sector_count", "#WrSectors", 10, true, "Count of sectors written.", statsCounter(func(c *statsAreaCounters) uint64 { return c.writeSectors })},
		{"write_time", "AccWrTime", 11, true, "Accumulated duration of all writes (ns).", statsCounter(func(c *statsAreaCounters) uint64 { return c.writeNsecs })},
		{"in_progress_count", "#InProg", 7, true, "Count of requests currently in progress.", statsCounter(func(c *statsAreaCounters) uint64 { return c.inProgress })},
		{"io_ticks", "IoTicks", 7, true, "Nanoseconds spent servicing requests.", statsCounter(func(c *statsAreaCounters) uint64 { return c.ioNsecs })},
		{"queue_ticks", "QueueTicks", 10, true, "Total nanoseconds spent in queue.", statsCounter(func(c *statsAreaCounters) uint64 { return c.weightedIONsecs })},
		{"read_ticks", "RdTicks", 7, true, "Nanoseconds spent servicing reads.", statsCounter(func(c *statsAreaCounters) uint64 { return c.totalReadNsecs })},
		{"write_ticks", "WrTicks", 7, true, "Nanoseconds spent servicing writes.", statsCounter(func(c *statsAreaCounters) uint64 { return c.totalWriteNsecs })},
	}},
	{"Mapped Device Statistics Region Information", "region_", []*reportField{
		{"region_id", "RgID", 4, true, "Region ID.", statsNum(func(r *statsRow) uint64 { return r.region.id })},
		{"region_start", "RgStart", 7, true, "Region start.", statsSize(func(r *statsRow) uint64 { return r.region.startSectors })},
		{"region_len", "RgSize", 6, true, "Region length.", statsSize(func(r *statsRow) uint64 { return r.region.lenSectors })},
		{"area_id", "ArID", 4, true, "Area ID.", statsNum(func(r *statsRow) uint64 { return uint64(max(r.area, 0)) })},
		{"area_start", "ArStart", 7, true, "Area offset from start of device.", statsSize((*statsRow).areaStart)},
		{"area_len", "ArSize", 6, true, "Area length.", statsSize((*statsRow).areaLen)},
		{"area_offset", "ArOff", 5, true, "Area offset from start of region.", statsSize(func(r *statsRow) uint64 { return r.areaStart() - r.region.startSectors })},
		{"area_count", "#Areas", 6, true, "Area count.", statsNum(func(r *statsRow) uint64 { return r.region.areaCount() })},
		{"group_id", "GrpID", 5, true, "Group ID.", statsText(func(*statsRow) string { return "-" })},
		{"program_id", "ProgID", 6, false, "Program ID.", statsText(func(r *statsRow) string { return r.region.programID })},
		{"user_data", "UserData", 8, false, "Auxiliary data.", statsText(func(r *statsRow) string { return r.region.auxData })},
		{"precise", "Precise", 7, false, "Set if nanosecond precision counters are enabled.", statsText(func(r *statsRow) string { return map[bool]string{true: "1", false: "0"}[r.region.precise] })},
		{"stats_name", "Name", 16, false, "Stats name of current object.", statsText(func(r *statsRow) string { return r.device })},
		{"obj_type", "ObjType", 7, false, "Type of stats object being reported.", statsText(func(r *statsRow) string {
			if r.area < 0 {
				return "region"
			}
			return "area"
		})},
	}},
}

// Default fields of stats list and stats report --raw, as dmsetup's.
const (
	statsListFields   = "statsname,group_id,region_id,obj_type,region_start,region_len,area_count,area_len,program_id"
	statsReportFields = "statsname,group_id,region_id,obj_type,area_id,area_start,area_len,read_count,reads_merged_count,read_sector_count,read_time,read_ticks,write_count,writes_merged_count,write_sector_count,write_time,write_ticks,in_progress_count,io_ticks,queue_ticks"
)

// cmdStatsReport is `stats list` (the regions) and `stats report` (their
// counters, read and cleared as dmsetup's report does with
// @stats_print_clear): rows per area (--area), per region (--region), or
// by default areas then the regions of more than one area (list: the
// regions). Regions of --programid (dmstats), or every program's with
// --allprograms.
func cmdStatsReport(e *env) error {
	list := e.args[0] == "list"
	defaults := statsReportFields
	if list {
		defaults = statsListFields
	}
	rep, err := newReport(e, statsReportSections, defaults)
	if err == errReportHelp {
		return nil
	}
	if err != nil {
		return err
	}
	var unitLetter byte
	var unitBytes uint64
	if u := e.opts.str("units"); e.opts.has("units") {
		if unitBytes = unitFactor(u); unitBytes == 0 {
			return usageError("Invalid --units argument.")
		}
		unitLetter = u[0]
	}
	program := defaultStatsProgram
	if e.opts.has("programid") {
		program = e.opts.str("programid")
	}
	if e.opts.has("allprograms") {
		program = ""
	}
	areas, regions := e.opts.has("area"), e.opts.has("region")
	if !areas && !regions {
		areas, regions = !list, true
	}
	names, err := statsDevices(e)
	if err != nil {
		return err
	}
	var objs []*reportObj
	for _, name := range names {
		if err := statsDeviceExists(e, "info", name); err != nil {
			return err
		}
		shown, err := e.shown(name, "name")
		if err != nil {
			return err
		}
		listed, err := listStatsRegions(e, name, program)
		if err != nil {
			return err
		}
		counters := make([][]statsAreaCounters, len(listed))
		if !list {
			for i, s := range listed {
				reply, err := printStatsRegion(e, name, s.id, true)
				if err != nil {
					return err
				}
				counters[i] = parseStatsPrint(reply, s.precise)
			}
		}
		row := func(s statsRegionInfo, area int64, c statsAreaCounters) {
			objs = append(objs, &reportObj{stats: &statsRow{device: shown, region: s, area: area, counters: c, unitLetter: unitLetter, unitBytes: unitBytes}})
		}
		if areas {
			for i, s := range listed {
				for a := range s.areaCount() {
					var c statsAreaCounters
					if a < uint64(len(counters[i])) {
						c = counters[i][a]
					}
					row(s, int64(a), c)
				}
			}
		}
		if regions {
			for i, s := range listed {
				if !list && areas && s.areaCount() < 2 {
					continue
				}
				row(s, -1, sumStatsCounters(counters[i]))
			}
		}
	}
	return rep.output(e.stdout, e.stderr, objs)
}

// sumStatsCounters is a region's counters: its areas' summed.
func sumStatsCounters(areas []statsAreaCounters) statsAreaCounters {
	var t statsAreaCounters
	for _, a := range areas {
		t.reads += a.reads
		t.readsMerged += a.readsMerged
		t.readSectors += a.readSectors
		t.readNsecs += a.readNsecs
		t.writes += a.writes
		t.writesMerged += a.writesMerged
		t.writeSectors += a.writeSectors
		t.writeNsecs += a.writeNsecs
		t.inProgress += a.inProgress
		t.ioNsecs += a.ioNsecs
		t.weightedIONsecs += a.weightedIONsecs
		t.totalReadNsecs += a.totalReadNsecs
		t.totalWriteNsecs += a.totalWriteNsecs
	}
	return t
}

package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// statsObjKind is what a stats report row shows: an area, a region (its
// areas summed) or a group (its regions summed).
type statsObjKind int

const (
	statsArea statsObjKind = iota
	statsRegionObj
	statsGroupObj
)

// walkRegionArea is the area index libdm's walk holds on a region row
// (DM_STATS_WALK_REGION): the area start and offset fields of a region row
// multiply it by the step, wrapping, as dmsetup 1.02.185 shows them.
const walkRegionArea = 0x2000000000000

// statsRow is one row of `stats list` or `stats report`: an object of a
// device's listed (for a report, populated) handle.
type statsRow struct {
	h    *statsHandle
	kind statsObjKind
	// id is the region's, or the group's; area the area's index.
	id, area uint64
	// shown is the device's name as the user sees it.
	shown string
	rep   *statsReportOptions
}

// statsReportOptions are what a report's fields read besides the row:
// units, histogram string options and the sampling interval.
type statsReportOptions struct {
	units        statsUnits
	noHeadings   bool
	noTimeSuffix bool
	intervalNs   uint64
}

// region is the row's region (for a group, its leader).
func (r *statsRow) region() *statsRegion { return r.h.regions[r.id] }

// members are the regions the row sums over.
func (r *statsRow) members() []*statsRegion {
	if r.kind != statsGroupObj {
		return []*statsRegion{r.region()}
	}
	var out []*statsRegion
	for _, m := range r.h.groups[r.id].members {
		out = append(out, r.h.regions[m])
	}
	return out
}

// counters are the row's counters: the area's, or summed.
func (r *statsRow) counters() statsAreaCounters {
	var c statsAreaCounters
	if b := r.region().bounds; b != nil {
		c.hist = make([]uint64, len(b))
	}
	for _, s := range r.members() {
		for i := range s.counters {
			if r.kind == statsArea && uint64(i) != r.area {
				continue
			}
			c.add(&s.counters[i])
		}
	}
	return c
}

func (r *statsRow) metrics() statsMetrics {
	return statsMetrics{c: r.counters(), intervalNs: r.rep.intervalNs}
}

// areaIndex is the area index libdm's walk holds for the row.
func (r *statsRow) areaIndex() uint64 {
	if r.kind == statsRegionObj {
		return walkRegionArea
	}
	return r.area
}

func (r *statsRow) regionLen() uint64 {
	var n uint64
	for _, s := range r.members() {
		n += s.lenSectors
	}
	return n
}

func (r *statsRow) areaStart() uint64 {
	s := r.region()
	if r.kind == statsGroupObj {
		return s.startSectors
	}
	return s.startSectors + s.stepSectors*r.areaIndex()
}

func (r *statsRow) areaOffset() uint64 {
	if r.kind == statsGroupObj {
		return 0
	}
	return r.region().stepSectors * r.areaIndex()
}

func (r *statsRow) areaLen() uint64 {
	if r.kind == statsGroupObj {
		return r.regionLen()
	}
	return r.region().stepSectors
}

func (r *statsRow) groupID() uint64 {
	if r.kind == statsGroupObj {
		return r.id
	}
	return r.region().groupID
}

// name is the alias of the row's group, else the device's name.
func (r *statsRow) name() string {
	if g := r.h.groups[r.groupID()]; g != nil && g.alias != "" {
		return g.alias
	}
	return r.shown
}

// histogram is the row's histogram (nil without one): its region's (the
// group leader's) bounds and the counts of its areas.
func (r *statsRow) histogram() *statsHistogram {
	b := r.region().bounds
	if b == nil {
		return nil
	}
	h := &statsHistogram{uppers: b, counts: r.counters().hist}
	for _, n := range h.counts {
		h.sum += n
	}
	return h
}

// histField shows the row's histogram with flags (time suffixes unless
// --notimesuffix; unpadded with --noheadings).
func histField(flags int) func(o *reportObj) (string, error) {
	return func(o *reportObj) (string, error) {
		r := o.stats
		h := r.histogram()
		if h == nil {
			return "", nil
		}
		width := 0
		if r.rep.noHeadings {
			width = -1
		}
		if !r.rep.noTimeSuffix {
			flags |= histSuffix
		}
		return h.histogramString(width, flags), nil
	}
}

func statsText(f func(r *statsRow) string) func(o *reportObj) (string, error) {
	return func(o *reportObj) (string, error) { return f(o.stats), nil }
}

func statsNum(f func(r *statsRow) uint64) func(o *reportObj) (string, error) {
	return func(o *reportObj) (string, error) { return strconv.FormatUint(f(o.stats), 10), nil }
}

func statsSize(f func(r *statsRow) uint64) func(o *reportObj) (string, error) {
	return func(o *reportObj) (string, error) {
		if o.rawSizes {
			return strconv.FormatUint(f(o.stats), 10), nil
		}
		return o.stats.rep.units.sizeString(f(o.stats)), nil
	}
}

func statsCounter(f func(c *statsAreaCounters) uint64) func(o *reportObj) (string, error) {
	return func(o *reportObj) (string, error) {
		c := o.stats.counters()
		return strconv.FormatUint(f(&c), 10), nil
	}
}

func statsRate(f func(m statsMetrics) float64) func(o *reportObj) (string, error) {
	return func(o *reportObj) (string, error) { return fmt.Sprintf("%.2f", f(o.stats.metrics())), nil }
}

func statsSizeRate(f func(m statsMetrics) float64) func(o *reportObj) (string, error) {
	return func(o *reportObj) (string, error) {
		v := f(o.stats.metrics())
		if o.rawSizes {
			return strconv.FormatFloat(v, 'g', -1, 64), nil
		}
		return o.stats.rep.units.sizeString(uint64(v)), nil
	}
}

// statsCounterSection is dmsetup's stats fields: counters, derived metrics,
// histograms and the sampling interval.
var statsCounterSection = reportSection{"Mapped Device Statistics", "stats_", []*reportField{
	{"read_count", "#Reads", 6, numberField, "Count of reads completed.", statsCounter(func(c *statsAreaCounters) uint64 { return c.reads })},
	{"reads_merged_count", "#RdMrgs", 7, numberField, "Count of read requests merged.", statsCounter(func(c *statsAreaCounters) uint64 { return c.readsMerged })},
	{"read_sector_count", "#RdSectors", 10, numberField, "Count of sectors read.", statsCounter(func(c *statsAreaCounters) uint64 { return c.readSectors })},
	{"read_time", "AccRdTime", 11, numberField, "Accumulated duration of all read requests (ns).", statsCounter(func(c *statsAreaCounters) uint64 { return c.readNsecs })},
	{"write_count", "#Writes", 7, numberField, "Count of writes completed.", statsCounter(func(c *statsAreaCounters) uint64 { return c.writes })},
	{"writes_merged_count", "#WrMrgs", 7, numberField, "Count of write requests merged.", statsCounter(func(c *statsAreaCounters) uint64 { return c.writesMerged })},
	{"write_sector_count", "#WrSectors", 10, numberField, "Count of sectors written.", statsCounter(func(c *statsAreaCounters) uint64 { return c.writeSectors })},
	{"write_time", "AccWrTime", 11, numberField, "Accumulated duration of all writes (ns).", statsCounter(func(c *statsAreaCounters) uint64 { return c.writeNsecs })},
	{"in_progress_count", "#InProg", 7, numberField, "Count of requests currently in progress.", statsCounter(func(c *statsAreaCounters) uint64 { return c.inProgress })},
	{"io_ticks", "IoTicks", 7, numberField, "Nanoseconds spent servicing requests.", statsCounter(func(c *statsAreaCounters) uint64 { return c.ioNsecs })},
	{"queue_ticks", "QueueTicks", 10, numberField, "Total nanoseconds spent in queue.", statsCounter(func(c *statsAreaCounters) uint64 { return c.weightedIONsecs })},
	{"read_ticks", "RdTicks", 7, numberField, "Nanoseconds spent servicing reads.", statsCounter(func(c *statsAreaCounters) uint64 { return c.totalReadNsecs })},
	{"write_ticks", "WrTicks", 7, numberField, "Nanoseconds spent servicing writes.", statsCounter(func(c *statsAreaCounters) uint64 { return c.totalWriteNsecs })},
	{"reads_merged_per_sec", "RMrg/s", 6, numberField, "Read requests merged per second.", statsRate(statsMetrics.readMergesPerSec)},
	{"writes_merged_per_sec", "WMrg/s", 6, numberField, "Write requests merged per second.", statsRate(statsMetrics.writeMergesPerSec)},
	{"reads_per_sec", "R/s", 3, numberField, "Reads per second.", statsRate(statsMetrics.readsPerSec)},
	{"writes_per_sec", "W/s", 3, numberField, "Writes per second.", statsRate(statsMetrics.writesPerSec)},
	{"read_size_per_sec", "RSz/s", 5, numberField, "Size of data read per second.", statsSizeRate(statsMetrics.readSectorsPerSec)},
	{"write_size_per_sec", "WSz/s", 5, numberField, "Size of data written per second.", statsSizeRate(statsMetrics.writeSectorsPerSec)},
	{"avg_request_size", "AvgRqSz", 7, numberField, "Average request size.", statsSizeRate(statsMetrics.avgRequestSectors)},
	{"queue_size", "QSize", 5, numberField, "Average queue size.", statsRate(statsMetrics.avgQueueSize)},
	{"await", "AWait", 5, numberField, "Averate wait time.", statsRate(statsMetrics.await)},
	{"read_await", "RdAWait", 7, numberField, "Averate read wait time.", statsRate(statsMetrics.readAwait)},
	{"write_await", "WrAWait", 7, numberField, "Averate write wait time.", statsRate(statsMetrics.writeAwait)},
	{"throughput", "Throughput", 10, numberField, "Throughput.", statsRate(statsMetrics.throughput)},
	{"service_time", "SvcTm", 5, numberField, "Service time.", statsRate(statsMetrics.serviceTime)},
	{"util", "Util%", 5, numberField, "Utilization.", func(o *reportObj) (string, error) {
		return fmt.Sprintf("%.2f", percentToRoundFloat(o.stats.metrics().utilPercent())), nil
	}},
	{"hist_count", "Histogram Counts", 16, textField, "Latency histogram counts.", histField(histValues)},
	{"hist_count_bounds", "Histogram Counts", 16, textField, "Latency histogram counts with bin boundaries.", histField(histValues | histBoundsLower)},
	{"hist_count_ranges", "Histogram Counts", 16, textField, "Latency histogram counts with bin ranges.", histField(histValues | histBoundsRange)},
	{"hist_percent", "Histogram%", 10, textField, "Relative latency histogram.", histField(histValues | histPercent)},
	{"hist_percent_bounds", "Histogram%", 10, textField, "Relative latency histogram with bin boundaries.", histField(histValues | histPercent | histBoundsLower)},
	{"hist_percent_ranges", "Histogram%", 10, textField, "Relative latency histogram with bin ranges.", histField(histValues | histPercent | histBoundsRange)},
	{"interval_ns", "IntervalNs", 10, numberField, "Sampling interval in nanoseconds.", statsNum(func(r *statsRow) uint64 { return r.rep.intervalNs })},
	{"interval", "Interval", 8, numberField, "Sampling interval.", statsText(func(r *statsRow) string {
		return fmt.Sprintf("%2.6f", float64(r.rep.intervalNs)/nsPerSec)
	})},
}}

// statsReportSections are dmsetup's stats fields: the counters and what
// they derive, then the region and area information.
var statsReportSections = []reportSection{
	statsCounterSection,
	{"Mapped Device Statistics Region Information", "region_", []*reportField{
		{"region_id", "RgID", 4, numberField, "Region ID.", statsText(func(r *statsRow) string {
			if r.kind == statsGroupObj {
				return regionRanges(r.h.groups[r.id].members)
			}
			return strconv.FormatUint(r.id, 10)
		})},
		{"region_start", "RgStart", 7, sizeField, "Region start.", statsSize(func(r *statsRow) uint64 { return r.region().startSectors })},
		{"region_len", "RgSize", 6, sizeField, "Region length.", statsSize((*statsRow).regionLen)},
		{"area_id", "ArID", 4, numberField, "Area ID.", statsNum(func(r *statsRow) uint64 {
			if r.kind == statsArea {
				return r.area
			}
			return 0
		})},
		{"area_start", "ArStart", 7, sizeField, "Area offset from start of device.", statsSize((*statsRow).areaStart)},
		{"area_len", "ArSize", 6, sizeField, "Area length.", statsSize((*statsRow).areaLen)},
		{"area_offset", "ArOff", 5, sizeField, "Area offset from start of region.", statsSize((*statsRow).areaOffset)},
		{"area_count", "#Areas", 6, numberField, "Area count.", statsNum(func(r *statsRow) uint64 {
			if r.kind == statsGroupObj {
				return 1
			}
			return r.region().areaCount()
		})},
		{"group_id", "GrpID", 5, numberField, "Group ID.", statsText(func(r *statsRow) string {
			if g := r.groupID(); r.h.groups[g] != nil {
				return strconv.FormatUint(g, 10)
			}
			return "-"
		})},
		{"program_id", "ProgID", 6, textField, "Program ID.", statsText(func(r *statsRow) string {
			if r.kind == statsGroupObj {
				return r.h.program
			}
			return r.region().programID
		})},
		{"user_data", "UserData", 8, textField, "Auxiliary data.", statsText(func(r *statsRow) string {
			if r.kind == statsGroupObj {
				return ""
			}
			return r.region().auxData
		})},
		{"precise", "Precise", 7, textField, "Set if nanosecond precision counters are enabled.", statsText(func(r *statsRow) string {
			if r.region().precise {
				return "1"
			}
			return "0"
		})},
		{"hist_bins", "#Bins", 9, textField, "The number of histogram bins configured.", statsNum(func(r *statsRow) uint64 {
			if r.kind == statsGroupObj {
				return 0
			}
			return uint64(len(r.region().bounds))
		})},
		{"hist_bounds", "Histogram Bounds", 16, textField, "Latency histogram bin boundaries.", histField(histBoundsLower)},
		{"hist_ranges", "Histogram Ranges", 16, textField, "Latency histogram bin ranges.", histField(histBoundsRange)},
		{"stats_name", "Name", 16, textField, "Stats name of current object.", statsText((*statsRow).name)},
		{"obj_type", "ObjType", 7, textField, "Type of stats object being reported.", statsText(func(r *statsRow) string {
			return [...]string{"area", "region", "group"}[r.kind]
		})},
	}},
}

// Default fields of stats list and stats report, as dmsetup's.
const (
	statsDevInfo        = "statsname,group_id,region_id,obj_type"
	statsAreaInfo       = "area_id,area_start,area_len"
	statsAreaInfoFull   = statsDevInfo + ",region_start,region_len,area_count,area_id,area_start,area_len"
	statsRegionInfo     = statsDevInfo + ",region_start,region_len,area_count,area_len"
	statsHistInfo       = statsRegionInfo + ",util,await"
	statsCounterFields  = "read_count,reads_merged_count,read_sector_count,read_time,read_ticks,write_count,writes_merged_count,write_sector_count,write_time,write_ticks,in_progress_count,io_ticks,queue_ticks"
	statsMetricFields   = "reads_merged_per_sec,writes_merged_per_sec,reads_per_sec,writes_per_sec,read_size_per_sec,write_size_per_sec,avg_request_size,queue_size,util,await,read_await,write_await"
	statsReportDefaults = statsDevInfo + "," + statsAreaInfo + "," + statsMetricFields
	statsRawFields      = statsDevInfo + "," + statsAreaInfo + "," + statsCounterFields
)

// statsDefaultFields is dmsetup's default -o of stats list (list) or report.
func statsDefaultFields(e *env, list bool) string {
	o := e.opts
	switch {
	case list && o.has("histogram") && o.has("verbose"):
		return statsAreaInfoFull + ",hist_bins,hist_bounds"
	case list && o.has("histogram"):
		return statsRegionInfo + ",hist_bins,hist_bounds"
	case list && o.has("verbose"):
		return statsAreaInfoFull + ",program_id"
	case list:
		return statsRegionInfo + ",program_id"
	case o.has("histogram") && o.has("relative"):
		return statsHistInfo + ",hist_percent_bounds"
	case o.has("histogram"):
		return statsHistInfo + ",hist_count_bounds"
	case o.has("raw"):
		return statsRawFields
	}
	return statsReportDefaults
}

// statsWalk is which objects a report shows, in libdm's walk order:
// areas, then regions (with skipSingle, those of more than one area), then
// groups.
type statsWalk struct {
	areas, regions, groups, skipSingle bool
}

// statsWalkOf is dmsetup's walk for stats list and report: the objects
// --area, --region and --group name, else regions and groups; a report
// without them, or a list with -v, shows areas, regions of several areas
// and groups.
func statsWalkOf(e *env, list bool) statsWalk {
	o := e.opts
	w := statsWalk{areas: o.has("area"), regions: o.has("region"), groups: o.has("group")}
	named := w.areas || w.regions || w.groups
	if !named {
		w.regions, w.groups = true, true
	}
	if list && o.has("verbose") || !list && !named {
		w = statsWalk{true, true, true, true}
	}
	return w
}

// rows are the handle's objects in the walk's order.
func (w statsWalk) rows(h *statsHandle, shown string, rep *statsReportOptions) []*reportObj {
	var out []*reportObj
	add := func(kind statsObjKind, id, area uint64) {
		out = append(out, &reportObj{stats: &statsRow{h: h, kind: kind, id: id, area: area, shown: shown, rep: rep}})
	}
	regions := h.present()
	if w.areas {
		for _, s := range regions {
			for a := range s.areaCount() {
				add(statsArea, s.id, a)
			}
		}
	}
	if w.regions {
		for _, s := range regions {
			if !w.skipSingle || s.areaCount() > 1 {
				add(statsRegionObj, s.id, 0)
			}
		}
	}
	if w.groups {
		for _, s := range regions {
			if h.groups[s.id] != nil {
				add(statsGroupObj, s.id, 0)
			}
		}
	}
	return out
}

// statsClock is dmsetup's sampling clock: the first sample is taken to
// span the configured interval; each later interval's first sample spans
// the time since the one before it.
type statsClock struct {
	intervalNs  uint64
	cycle       time.Time
	started     bool
	newInterval bool
	lastNs      uint64
}

// sample notes a device's counters read now and returns the interval
// their rates are over.
func (c *statsClock) sample() uint64 {
	now := time.Now()
	switch {
	case !c.started:
		c.started, c.cycle, c.lastNs = true, now, c.intervalNs
	case c.newInterval:
		c.lastNs, c.cycle = uint64(now.Sub(c.cycle)), now
	}
	c.newInterval = false
	return c.lastNs
}

// cmdStatsReport is `stats list` (the regions and groups) and `stats
// report` (their counters and metrics, read and cleared as dmsetup's
// report does with @stats_print_clear), with dmsetup's objects (see
// statsWalkOf) and default fields, once or every --interval seconds
// --count times. Regions of --programid (dmstats), or every program's
// with --allprograms.
func cmdStatsReport(e *env) error {
	list := e.args[0] == "list"
	rep := e.rep
	opts := &statsReportOptions{units: statsUnits{'h', 1}, noHeadings: e.opts.has("noheadings"), noTimeSuffix: e.opts.has("notimesuffix")}
	if e.opts.has("units") {
		// setUp refused units that do not parse
		opts.units.factor, opts.units.unitType = unitsToFactor(e.opts.str("units"))
	}
	program := defaultStatsProgram
	if e.opts.has("programid") {
		program = e.opts.str("programid")
	}
	if e.opts.has("allprograms") {
		program = ""
	}
	counts := !list || rep.uses(statsCounterSection)
	walk := statsWalkOf(e, list)
	count, interval := statsRepeats(e)
	clock := &statsClock{intervalNs: uint64(interval)}
	start := time.Now()
	for i := uint64(1); ; i++ {
		objs, err := statsReportRows(e, program, counts, walk, opts, clock)
		if outErr := rep.output(e.stdout, e.stderr, objs); err == nil {
			err = outErr
		}
		if err != nil || i >= count {
			return err
		}
		fmt.Fprintln(e.stdout)
		if err := e.pause(time.Until(start.Add(time.Duration(i) * interval))); err != nil {
			return err
		}
		clock.newInterval = true
	}
}

// statsRepeats is --count (0: until stopped) and --interval (seconds, 1 by
// default) as dmsetup reads them: one report unless either is given, or
// when -o asks for help.
func statsRepeats(e *env) (count uint64, interval time.Duration) {
	interval = time.Second
	if strings.Contains(e.opts.str("options"), "help") {
		return 1, interval
	}
	if e.opts.has("interval") {
		interval = time.Duration(atoi(e.opts.str("interval"))) * time.Second
	}
	switch n := atoi(e.opts.str("count")); {
	case e.opts.has("count") && n > 0:
		return uint64(n), interval
	case e.opts.has("count") || e.opts.has("interval"):
		return ^uint64(0), interval
	}
	return 1, interval
}

// statsReportRows lists (with counts, populates) each device's regions and
// returns its rows.
func statsReportRows(e *env, program string, counts bool, walk statsWalk, opts *statsReportOptions, clock *statsClock) ([]*reportObj, error) {
	names, err := statsDevices(e)
	if err != nil {
		return nil, err
	}
	var objs []*reportObj
	for _, name := range names {
		if err := statsDeviceExists(e, "info", name); err != nil {
			return objs, err
		}
		shown, err := e.shown(name, "name")
		if err != nil {
			return objs, err
		}
		h := newStatsHandle(e, name, defaultStatsProgram)
		if counts {
			some, err := h.populate(program)
			if err != nil {
				return objs, err
			}
			if !some {
				continue
			}
			opts.intervalNs = clock.sample()
		} else if err := h.list(program); err != nil {
			return objs, err
		}
		objs = append(objs, walk.rows(h, shown, opts)...)
	}
	return objs, nil
}

package dm

import (
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// statsMessage runs a dm-stats message for the core (dm_stats_message):
// @stats_create, @stats_delete, @stats_clear, @stats_list, @stats_print,
// @stats_print_clear and @stats_set_aux, their names in any case. handled
// is false when args[0] names none of them. A message with bad parameters
// fails with EINVAL and the kernel's line naming it.
func (r *Registry) statsMessage(d *Device, args []string) (reply string, handled bool, e syscall.Errno) {
	switch strings.ToLower(args[0]) {
	case "@stats_create":
		reply, e = r.statsCreate(d, args)
	case "@stats_delete":
		e = d.statsByID(args, 2, func(st *statsSet, s *statsRegion) {
			for i, x := range st.regions {
				if x == s {
					st.regions = append(st.regions[:i], st.regions[i+1:]...)
					break
				}
			}
		})
		if e == 0 && d.statsSet != nil {
			d.setStats(d.statsSet)
		}
	case "@stats_clear":
		e = d.statsByID(args, 2, func(_ *statsSet, s *statsRegion) { s.clear(0, len(s.areas), statsNowNanos()) })
	case "@stats_list":
		reply, e = d.statsList(args)
	case "@stats_print", "@stats_print_clear":
		reply, e = d.statsPrint(args, strings.EqualFold(args[0], "@stats_print_clear"))
	case "@stats_set_aux":
		e = d.statsByID(args, 3, func(_ *statsSet, s *statsRegion) { s.auxData = args[2] })
	default:
		return "", false, 0
	}
	if e == syscall.EINVAL {
		r.klogf("stats: Invalid parameters for message %s", args[0])
	}
	return reply, true, e
}

// statsCreate is @stats_create <range> <step> [<#features> <features>...]
// [<program_id> [<aux_data>]] (message_stats_create, dm_stats_create):
// range is "-" (the whole device) or START+LENGTH in sectors, step a
// number of sectors or /N (N areas); the features are precise_timestamps
// and histogram:B1,B2,... (increasing boundaries). The reply is the new
// region's id, the lowest free one.
func (r *Registry) statsCreate(d *Device, args []string) (string, syscall.Errno) {
	if len(args) < 3 {
		return "", syscall.EINVAL
	}
	var start, length uint64
	if args[1] == "-" {
		length = max(d.LenSectors(), 1)
	} else {
		a, rest, ok := scanUnsigned(args[1])
		if !ok || !strings.HasPrefix(rest, "+") {
			return "", syscall.EINVAL
		}
		b, rest, ok := scanUnsigned(rest[1:])
		if !ok || rest != "" {
			return "", syscall.EINVAL
		}
		start, length = a, b
	}
	end := start + length
	if start >= end {
		return "", syscall.EINVAL
	}
	step, ok := scanWholeValue(args[2], 64)
	if div, isDiv := strings.CutPrefix(args[2], "/"); isDiv {
		divisor, ok := scanWholeValue(div, 32)
		if !ok || divisor == 0 {
			return "", syscall.EINVAL
		}
		step = max(statsAreaCount(0, end-start, divisor), 1)
	} else if !ok || step == 0 {
		return "", syscall.EINVAL
	}
	rest := args[3:]
	var precise bool
	var bounds []uint64
	if len(rest) > 0 {
		if n, ok := scanWholeValue(rest[0], 32); ok {
			rest = rest[1:]
			for ; n > 0; n-- {
				if len(rest) == 0 {
					return "", syscall.EINVAL
				}
				a := rest[0]
				rest = rest[1:]
				switch {
				case strings.EqualFold(a, "precise_timestamps"):
					precise = true
				case len(a) >= 10 && strings.EqualFold(a[:10], "histogram:"):
					if bounds != nil {
						return "", syscall.EINVAL
					}
					b, ok := parseStatsHistogram(a[10:])
					if !ok {
						return "", syscall.EINVAL
					}
					bounds = b
				default:
					return "", syscall.EINVAL
				}
			}
		}
	}
	programID, auxData := "-", "-"
	if len(rest) > 0 {
		programID, rest = rest[0], rest[1:]
	}
	if len(rest) > 0 {
		auxData, rest = rest[0], rest[1:]
	}
	if len(rest) > 0 {
		return "", syscall.EINVAL
	}
	nAreas := statsAreaCount(start, end, step)
	if nAreas == math.MaxUint64 || nAreas > math.MaxUint64/statsAreaBytes(uint64(len(bounds)), uint64(runtime.NumCPU())) {
		return "", syscall.EOVERFLOW
	}
	if r.statsBytesUsed()+nAreas*statsAreaBytes(uint64(len(bounds)), uint64(runtime.NumCPU())) > statsMemoryLimitBytes() {
		return "", syscall.ENOMEM
	}
	s := newStatsRegion(start, end, step, precise, bounds, programID, auxData, statsNowNanos())
	st := d.statsSet
	if st == nil {
		st = newStatsSet()
	}
	st.mu.Lock()
	for _, x := range st.regions {
		if x.id > s.id {
			break
		}
		s.id++
	}
	st.insert(s)
	st.mu.Unlock()
	d.setStats(st)
	return fmt.Sprint(s.id), 0
}

// parseStatsHistogram parses a histogram feature's boundaries (parse_histogram):
// decimal numbers separated by commas, each above the one before, the first above 0.
func parseStatsHistogram(h string) ([]uint64, bool) {
	var out []uint64
	last := uint64(0)
	for {
		v, rest, ok := scanUnsigned(h)
		if !ok || rest != "" && rest[0] != ',' || v <= last {
			return nil, false
		}
		out = append(out, v)
		last = v
		if rest == "" {
			return out, true
		}
		h = rest[1:]
	}
}

// statsID parses a region id argument as sscanf's "%d%c" (a '-' and
// digits, nothing else; cut to an int), and refuses a negative one.
func statsID(s string) (int, bool) {
	t := strings.TrimLeft(s, " \t\n\v\f\r")
	neg := strings.HasPrefix(t, "-")
	if neg {
		t = t[1:]
	}
	if t == "" || t[0] < '0' || t[0] > '9' {
		return 0, false
	}
	v, rest, _ := scanUnsigned(t)
	if rest != "" {
		return 0, false
	}
	if neg {
		v = -v
	}
	id := int32(v)
	return int(id), id >= 0
}

// statsByID runs fn on the region args[1] names, under the set's lock, for
// a message of argc words (@stats_delete, @stats_clear, @stats_set_aux):
// EINVAL for another count or a bad id, ENOENT for an id with no region.
func (d *Device) statsByID(args []string, argc int, fn func(st *statsSet, s *statsRegion)) syscall.Errno {
	if len(args) != argc {
		return syscall.EINVAL
	}
	id, ok := statsID(args[1])
	if !ok {
		return syscall.EINVAL
	}
	st := d.statsSet
	if st == nil {
		return syscall.ENOENT
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.find(id)
	if s == nil {
		return syscall.ENOENT
	}
	fn(st, s)
	return 0
}

// statsList is @stats_list [<program_id>] (dm_stats_list): a line per
// region (of that program), "<id>: <start>+<length> <step> <program_id>
// <aux_data>" and its features.
func (d *Device) statsList(args []string) (string, syscall.Errno) {
	if len(args) < 1 || len(args) > 2 {
		return "", syscall.EINVAL
	}
	st := d.statsSet
	if st == nil {
		return "", 0
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	var b strings.Builder
	for _, s := range st.regions {
		if len(args) == 2 && args[1] != s.programID {
			continue
		}
		fmt.Fprintf(&b, "%d: %d+%d %d %s %s", s.id, s.startSector, s.endSector-s.startSector, s.stepSectors, s.programID, s.auxData)
		if s.precise {
			b.WriteString(" precise_timestamps")
		}
		for i, h := range s.histogram {
			sep := ","
			if i == 0 {
				sep = " histogram:"
			}
			fmt.Fprintf(&b, "%s%d", sep, h)
		}
		b.WriteString("\n")
	}
	return b.String(), 0
}

// statsPrint is @stats_print[_clear] <id> [<first area> <number of
// areas>] (dm_stats_print): a line per area, "<start>+<step>" then its
// counters: reads, merged reads, sectors read, milliseconds reading,
// the same for writes, I/Os in flight, milliseconds with I/O in flight,
// weighted milliseconds, then those with reads and with writes in flight
// (nanoseconds in a precise_timestamps region), and the histogram's
// counts. "-" takes the default (0; every area). With clear, the areas
// printed are cleared.
func (d *Device) statsPrint(args []string, clear bool) (string, syscall.Errno) {
	if len(args) != 2 && len(args) != 4 {
		return "", syscall.EINVAL
	}
	id, ok := statsID(args[1])
	if !ok {
		return "", syscall.EINVAL
	}
	first, count := uint64(0), uint64(math.MaxUint64)
	if len(args) == 4 {
		if args[2] != "-" {
			if first, ok = scanWholeValue(args[2], 64); !ok {
				return "", syscall.EINVAL
			}
		}
		if args[3] != "-" {
			if count, ok = scanWholeValue(args[3], 64); !ok {
				return "", syscall.EINVAL
			}
		}
	}
	st := d.statsSet
	if st == nil {
		return "", syscall.ENOENT
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.find(id)
	if s == nil {
		return "", syscall.ENOENT
	}
	n := uint64(len(s.areas))
	last := first + count
	if last < first || last > n {
		last = n
	}
	first = min(first, last)
	nanos := statsNowNanos()
	var b []byte
	if last > first {
		// a line of small counters takes about 40 bytes, and 4 a histogram bin
		b = make([]byte, 0, (last-first)*uint64(40+4*len(s.areas[first].Histogram)))
	}
	for x := first; x < last; x++ {
		a := &s.areas[x]
		s.round(a, nanos)
		ms := s.printTicks
		b = strconv.AppendUint(b, s.startSector+x*s.stepSectors, 10)
		b = append(b, '+')
		b = strconv.AppendUint(b, s.stepSectors, 10)
		for _, v := range [...]uint64{a.IOs[statRead], a.Merges[statRead], a.Sectors[statRead], ms(a.Ticks[statRead]),
			a.IOs[statWrite], a.Merges[statWrite], a.Sectors[statWrite], ms(a.Ticks[statWrite])} {
			b = append(b, ' ')
			b = strconv.AppendUint(b, v, 10)
		}
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(int32(a.inFlight[statRead]+a.inFlight[statWrite])), 10)
		for _, v := range [...]uint64{ms(a.IOTicksTotal), ms(a.TimeInQueue), ms(a.IOTicks[statRead]), ms(a.IOTicks[statWrite])} {
			b = append(b, ' ')
			b = strconv.AppendUint(b, v, 10)
		}
		for i, h := range a.Histogram {
			sep := byte(':')
			if i == 0 {
				sep = ' '
			}
			b = append(b, sep)
			b = strconv.AppendUint(b, h, 10)
		}
		b = append(b, '\n')
	}
	if clear {
		s.clear(int(first), int(last), nanos)
	}
	return string(b), 0
}

// printTicks is ticks as @stats_print prints them: jiffies in
// milliseconds, nanoseconds as they are in a precise_timestamps region.
func (s *statsRegion) printTicks(ticks uint64) uint64 {
	if s.precise {
		return ticks
	}
	return ticks * uint64(jiffyNanos/1e6)
}

// clear zeroes the counters of areas [first, last), their time first
// brought up to now; I/O in flight stays in flight (__dm_stat_clear).
func (s *statsRegion) clear(first, last int, nanos int64) {
	for x := first; x < last; x++ {
		a := &s.areas[x]
		s.round(a, nanos)
		h := a.Histogram
		clear(h)
		a.statsCounters = statsCounters{Histogram: h}
	}
}

// scanUnsigned reads a number as the kernel's sscanf reads an unsigned
// conversion (%u, %lu, %llu): white space skipped, then decimal digits, at
// least one, no sign; the value wraps modulo 2^64. rest is what follows.
func scanUnsigned(s string) (v uint64, rest string, ok bool) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		v = v*10 + uint64(s[i]-'0')
		i++
	}
	return v, s[i:], i > 0
}

// scanWholeValue is sscanf(s, "%u%c") == 1 (bits 32) or "%llu%c" (bits
// 64): s is a number and nothing else; the value is cut to bits.
func scanWholeValue(s string, bits int) (uint64, bool) {
	v, rest, ok := scanUnsigned(s)
	if !ok || rest != "" {
		return 0, false
	}
	if bits < 64 {
		v &= 1<<bits - 1
	}
	return v, true
}

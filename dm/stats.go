package dm

import (
	"math"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// I/O statistics (dm-stats): a device may hold regions, each a range of
// sectors cut into areas of step sectors, and every I/O that reaches the
// device is counted in the areas it covers, as the kernel's dm-stats.c
// counts it: per direction (discards and write-zeroes are writes) the
// completed I/Os, merged I/Os (an I/O starting where the device's last one
// ended, in the same direction), sectors and ticks, the I/Os in flight and
// the time they spent there, and an optional latency histogram. Flushes
// carry no sectors and are not counted.

// jiffyNanos is one jiffy of the kernel the fidelity oracle runs (Debian's
// CONFIG_HZ=250): regions without precise_timestamps count time in
// jiffies and print it in milliseconds.
const jiffyNanos = int64(time.Second) / 250

// statsNowNanos is the clock of the statistics (wall time in nanoseconds:
// counters outlive the process).
var statsNowNanos = func() int64 { return time.Now().UnixNano() }

// Directions of the counters, as the kernel indexes them.
const (
	statRead  = 0
	statWrite = 1
)

// statsCounters are one area's counters: per direction (statRead,
// statWrite) the sectors, completed I/Os, merged I/Os, ticks and ticks
// with I/O in flight; the ticks with any I/O in flight and their sum
// weighted by the I/Os in flight; and the histogram's counts (one more
// than the region's boundaries). Ticks are jiffies, or nanoseconds in a
// precise_timestamps region.
type statsCounters struct {
	Sectors      [2]uint64 `json:"sectors"`
	IOs          [2]uint64 `json:"ios"`
	Merges       [2]uint64 `json:"merges"`
	Ticks        [2]uint64 `json:"ticks"`
	IOTicks      [2]uint64 `json:"io_ticks"`
	IOTicksTotal uint64    `json:"io_ticks_total"`
	TimeInQueue  uint64    `json:"time_in_queue"`
	Histogram    []uint64  `json:"histogram,omitempty"`
}

// zero reports whether nothing was counted.
func (c *statsCounters) zero() bool {
	for _, h := range c.Histogram {
		if h != 0 {
			return false
		}
	}
	return c.Sectors == [2]uint64{} && c.IOs == [2]uint64{} && c.Merges == [2]uint64{} &&
		c.Ticks == [2]uint64{} && c.IOTicks == [2]uint64{} && c.IOTicksTotal == 0 && c.TimeInQueue == 0
}

// statsArea is one area: its counters, the I/Os in flight in it and when
// its time counters were last brought up to date (dm_stat_shared).
type statsArea struct {
	statsCounters
	inFlight [2]uint32
	stamp    int64
}

// statsRegion is one region (struct dm_stat): sectors [startSector,
// endSector) in areas of stepSectors, the last one perhaps shorter.
type statsRegion struct {
	id                     int
	startSector, endSector uint64
	stepSectors            uint64
	precise                bool
	histogram              []uint64 // boundaries, increasing
	programID, auxData     string
	areas                  []statsArea
}

// now is the region's clock: jiffies, or nanoseconds when precise.
func (s *statsRegion) now(nanos int64) int64 {
	if s.precise {
		return nanos
	}
	return nanos / jiffyNanos
}

// round brings an area's time counters up to now (dm_stat_round): the
// time since its stamp was spent with its in-flight I/Os.
func (s *statsRegion) round(a *statsArea, nanos int64) {
	now := s.now(nanos)
	diff := uint64(now - a.stamp)
	if now <= a.stamp {
		if now < a.stamp {
			a.stamp = now
		}
		return
	}
	r, w := a.inFlight[statRead], a.inFlight[statWrite]
	if r > 0 {
		a.IOTicks[statRead] += diff
	}
	if w > 0 {
		a.IOTicks[statWrite] += diff
	}
	if r+w > 0 {
		a.IOTicksTotal += diff
		a.TimeInQueue += uint64(r+w) * diff
	}
	a.stamp = now
}

// forAreas calls fn for each area the sectors [sector, endSector) cover in
// s and the number of those sectors in it (__dm_stat_bio).
func (s *statsRegion) forAreas(sector, endSector uint64, fn func(a *statsArea, lenSectors uint64)) {
	if endSector <= s.startSector || sector >= s.endSector {
		return
	}
	sector = max(sector, s.startSector)
	endSector = min(endSector, s.endSector)
	rel := sector - s.startSector
	entry, offset := rel/s.stepSectors, rel%s.stepSectors
	for todo := endSector - sector; todo > 0; entry, offset = entry+1, 0 {
		k := min(todo, s.stepSectors-offset)
		fn(&s.areas[entry], k)
		todo -= k
	}
}

// statsSet is a device's regions (struct dm_stats).
//
// mu guards regions, every counter in them and the last position; the
// device publishes the set (Device.stats) only while it holds a region, so
// I/O to a device without one only loads a nil pointer.
type statsSet struct {
	mu      sync.Mutex
	regions []*statsRegion // by id, increasing
	// lastSector and lastWrite are where and in which direction the last
	// I/O counted ended (merges are I/Os starting there).
	lastSector uint64
	lastWrite  bool
}

func newStatsSet() *statsSet { return &statsSet{lastSector: math.MaxUint64} }

// statsIO is one I/O being counted: its pieces' start and the time it began.
type statsIO struct {
	write        bool
	merged       []bool
	startedNanos int64
}

// begin counts the start of an I/O of pieces (sector, lenSectors) in
// order: each one is in flight in the areas it covers from now.
func (st *statsSet) begin(write bool, pieces [][2]uint64) statsIO {
	nanos := statsNowNanos()
	io := statsIO{write: write, merged: make([]bool, len(pieces)), startedNanos: nanos}
	idx := direction(write)
	st.mu.Lock()
	defer st.mu.Unlock()
	for i, p := range pieces {
		io.merged[i] = p[0] == st.lastSector && write == st.lastWrite
		st.lastSector, st.lastWrite = p[0]+p[1], write
		for _, s := range st.regions {
			s.forAreas(p[0], p[0]+p[1], func(a *statsArea, _ uint64) {
				s.round(a, nanos)
				a.inFlight[idx]++
			})
		}
	}
	return io
}

// end counts the completion of the I/O begin started over the same pieces.
func (st *statsSet) end(io statsIO, pieces [][2]uint64) {
	nanos := statsNowNanos()
	idx := direction(io.write)
	st.mu.Lock()
	defer st.mu.Unlock()
	for i, p := range pieces {
		for _, s := range st.regions {
			durNanos := nanos - io.startedNanos
			ticks := uint64(s.now(nanos) - s.now(io.startedNanos))
			histValue := uint64(durNanos)
			if !s.precise {
				histValue = ticks * uint64(jiffyNanos/int64(time.Millisecond))
			}
			s.forAreas(p[0], p[0]+p[1], func(a *statsArea, n uint64) {
				s.round(a, nanos)
				if a.inFlight[idx] > 0 {
					a.inFlight[idx]--
				}
				a.Sectors[idx] += n
				a.IOs[idx]++
				if io.merged[i] {
					a.Merges[idx]++
				}
				a.Ticks[idx] += ticks
				if len(s.histogram) > 0 {
					a.Histogram[histogramBin(s.histogram, histValue)]++
				}
			})
		}
	}
}

// histogramBin is the bin of value: the number of boundaries not above it.
func histogramBin(bounds []uint64, value uint64) int {
	lo, hi := 0, len(bounds)+1
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if bounds[mid-1] > value {
			hi = mid
		} else {
			lo = mid
		}
	}
	return lo
}

func direction(write bool) int {
	if write {
		return statWrite
	}
	return statRead
}

// find returns the region with id, or nil.
func (st *statsSet) find(id int) *statsRegion {
	for _, s := range st.regions {
		if s.id == id {
			return s
		}
	}
	return nil
}

// statsAreaBytes is what the kernel allocates for one area of a region
// with nBounds histogram boundaries on a machine of nCPU processors
// (dm_stat_shared, then per processor dm_stat_percpu, and the histograms),
// the unit of its memory limit.
func statsAreaBytes(nBounds, nCPU uint64) uint64 {
	const sharedBytes, percpuBytes = 120, 104
	hist := (nBounds + 1) * 8
	return sharedBytes + hist + nCPU*(percpuBytes+hist)
}

// statsMemoryLimitBytes is the kernel's limit on the memory of all
// regions: a quarter of the RAM.
func statsMemoryLimitBytes() uint64 {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return 1 << 30
	}
	return uint64(si.Totalram) * uint64(si.Unit) / 4
}

// statsBytesUsed is the kernel's count of the memory regions of every
// device of r hold.
func (r *Registry) statsBytesUsed() uint64 {
	var n uint64
	for _, d := range r.devs {
		if d.statsSet == nil {
			continue
		}
		d.statsSet.mu.Lock()
		for _, s := range d.statsSet.regions {
			n += uint64(len(s.areas)) * statsAreaBytes(uint64(len(s.histogram)), uint64(runtime.NumCPU()))
		}
		d.statsSet.mu.Unlock()
	}
	return n
}

// newStatsRegion makes a region of the sectors [startSector, endSector)
// in areas of stepSectors (the last one perhaps shorter), its counters
// zero, its clock started at nowNanos.
func newStatsRegion(startSector, endSector, stepSectors uint64, precise bool, histogram []uint64, programID, auxData string, nowNanos int64) *statsRegion {
	s := &statsRegion{startSector: startSector, endSector: endSector, stepSectors: stepSectors, precise: precise,
		histogram: histogram, programID: programID, auxData: auxData}
	s.areas = make([]statsArea, statsAreaCount(startSector, endSector, stepSectors))
	stamp := s.now(nowNanos)
	var bins []uint64
	if len(histogram) > 0 {
		bins = make([]uint64, len(s.areas)*(len(histogram)+1))
	}
	for i := range s.areas {
		s.areas[i].stamp = stamp
		if bins != nil {
			s.areas[i].Histogram = bins[i*(len(histogram)+1) : (i+1)*(len(histogram)+1) : (i+1)*(len(histogram)+1)]
		}
	}
	return s
}

// statsAreaCount is the number of areas of stepSectors in [startSector,
// endSector), a last partial one counted whole.
func statsAreaCount(startSector, endSector, stepSectors uint64) uint64 {
	n := (endSector - startSector) / stepSectors
	if (endSector-startSector)%stepSectors != 0 {
		n++
	}
	return n
}

// insert adds s to the set in id order; a region whose id is taken is
// left out.
func (st *statsSet) insert(s *statsRegion) {
	i := 0
	for i < len(st.regions) && st.regions[i].id < s.id {
		i++
	}
	if i < len(st.regions) && st.regions[i].id == s.id {
		return
	}
	st.regions = append(st.regions, nil)
	copy(st.regions[i+1:], st.regions[i:])
	st.regions[i] = s
}

// setStats makes st d's statistics and publishes it to I/O while it holds
// a region. The caller holds no lock of st.
func (d *Device) setStats(st *statsSet) {
	d.statsSet = st
	st.mu.Lock()
	used := len(st.regions) > 0
	st.mu.Unlock()
	if used {
		d.stats.Store(st)
	} else {
		d.stats.Store(nil)
	}
}

package main

// Derived metrics of a stats report, as libdm-stats computes them from a
// sample's counters (times in nanoseconds) and the sampling interval in
// nanoseconds, with its quirks kept: merges per second are merges per
// nanosecond, wait times are in nanoseconds, utilization is a fraction
// (shown as a percentage) and the service time goes through a truncated
// percentage.

// Percentages as libdm's dm_percent_t: 1% is percentOne.
const (
	percentOne     = 1000000
	percentHundred = 100 * percentOne
)

// makePercent is libdm's dm_make_percent: numerator/denominator in
// dm_percent_t, never 0 or 100% unless exactly so.
func makePercent(numerator, denominator uint64) int32 {
	switch {
	case denominator == 0, numerator == denominator:
		return percentHundred
	case numerator == 0:
		return 0
	}
	p := int32(percentHundred * (float64(numerator) / float64(denominator)))
	switch p {
	case percentHundred:
		return percentHundred - 1
	case 0:
		return 1
	}
	return p
}

// percentToFloat is libdm's dm_percent_to_float (a C float).
func percentToFloat(p int32) float32 { return float32(p) / percentOne }

// percentToRoundFloat is libdm's dm_percent_to_round_float with two digits:
// a percentage that is not 0 or 100 never shows as one.
func percentToRoundFloat(p int32) float32 {
	f := percentToFloat(p)
	r := float32(percentOne) * float32(0.01)
	switch {
	case float32(p) < r && p > 0:
		return 0.01
	case float32(p) > percentHundred-r && p < percentHundred:
		return (percentHundred - r) / percentOne
	}
	return f
}

// statsMetrics computes a report's metrics from one object's counters c
// over intervalNs.
type statsMetrics struct {
	c          statsAreaCounters
	intervalNs uint64
}

func (m statsMetrics) interval() float64 { return float64(m.intervalNs) }

func (m statsMetrics) readMergesPerSec() float64 { return float64(m.c.readsMerged) / m.interval() }

func (m statsMetrics) writeMergesPerSec() float64 { return float64(m.c.writesMerged) / m.interval() }

func (m statsMetrics) readsPerSec() float64 { return float64(m.c.reads) * nsPerSec / m.interval() }

func (m statsMetrics) writesPerSec() float64 { return float64(m.c.writes) * nsPerSec / m.interval() }

func (m statsMetrics) readSectorsPerSec() float64 {
	return float64(m.c.readSectors) * nsPerSec / m.interval()
}

func (m statsMetrics) writeSectorsPerSec() float64 {
	return float64(m.c.writeSectors) * nsPerSec / m.interval()
}

// avgRequestSectors is the mean I/O size in sectors.
func (m statsMetrics) avgRequestSectors() float64 {
	ios := float64(m.c.reads + m.c.writes)
	if ios <= 0 {
		return 0
	}
	return float64(m.c.readSectors+m.c.writeSectors) / ios
}

func (m statsMetrics) avgQueueSize() float64 {
	if m.c.weightedIONsecs == 0 {
		return 0
	}
	return float64(m.c.weightedIONsecs) / m.interval()
}

// await is the mean time of an I/O in nanoseconds.
func (m statsMetrics) await() float64 {
	ios := m.c.reads + m.c.writes
	if ios == 0 {
		return 0
	}
	return float64(m.c.readNsecs+m.c.writeNsecs) / float64(ios)
}

func (m statsMetrics) readAwait() float64 {
	if m.c.readNsecs == 0 || m.c.reads == 0 {
		return 0
	}
	return float64(m.c.readNsecs) / float64(m.c.reads)
}

func (m statsMetrics) writeAwait() float64 {
	if m.c.writeNsecs == 0 || m.c.writes == 0 {
		return 0
	}
	return float64(m.c.writeNsecs) / float64(m.c.writes)
}

func (m statsMetrics) throughput() float64 {
	return nsPerSec * float64(m.c.reads+m.c.writes) / m.interval()
}

// utilization is the fraction of the interval with I/O in flight, at most 1.
func (m statsMetrics) utilization() float64 {
	if m.intervalNs == 0 {
		return 0
	}
	return float64(min(m.c.ioNsecs, m.intervalNs)) / m.interval()
}

// utilPercent is the utilization as dmsetup's util field holds it.
func (m statsMetrics) utilPercent() int32 {
	return makePercent(uint64(percentOne*m.utilization()), percentOne)
}

// serviceTime is libdm's: 0 below 1% utilization or one I/O per second.
func (m statsMetrics) serviceTime() float64 {
	tput, util := m.throughput(), m.utilization()*100
	if uint64(tput) == 0 || uint64(util) == 0 {
		return 0
	}
	return nsPerSec * float64(percentToFloat(int32(util))) / (100 * tput)
}

package main

import (
	"fmt"
	"math"
	"strings"
)

// Time units of histogram bounds, in nanoseconds.
const (
	nsPerUsec = 1000
	nsPerMsec = 1000_000
	nsPerSec  = 1000_000_000
)

// parseHistogramBounds is libdm's dm_histogram_bounds_from_string: --bounds'
// comma-separated times, each with an optional unit ns, us, ms or s that
// stays in force for the ones after it (nanoseconds until one is given),
// as bounds in nanoseconds. A trailing comma leaves a last bound of 0.
func parseHistogramBounds(s string) ([]uint64, error) {
	at := func(i int) byte {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	bounds := make([]uint64, strings.Count(s, ",")+1)
	mult, n, c := uint64(1), 0, 0
	for {
		if ch := at(c); ch == 0 || !strings.ContainsRune("0123456789,muns", rune(ch)) {
			return nil, fmt.Errorf("Invalid character in histogram: %c", ch)
		}
		if at(c) == ',' {
			return nil, fmt.Errorf("Empty histogram bin not allowed: %s", s)
		}
		v := uint64(0)
		for ; at(c) >= '0' && at(c) <= '9'; c++ {
			d := uint64(at(c) - '0')
			if v > (math.MaxUint64-d)/10 {
				v = math.MaxUint64
			} else {
				v = v*10 + d
			}
		}
		switch {
		case at(c) == 's':
			mult = nsPerSec
			c++
		case at(c+1) == 's':
			switch at(c) {
			case 'm':
				mult = nsPerMsec
			case 'u':
				mult = nsPerUsec
			case 'n':
				mult = 1
			default:
				return nil, fmt.Errorf("Invalid character in histogram: %c", at(c))
			}
			c += 2
		case at(c) == ',':
			c++
		case at(c) != 0:
			return nil, fmt.Errorf("Invalid character in histogram: %c", at(c))
		}
		if at(c) == ',' {
			c++
		}
		bounds[n] = v * mult
		n++
		if at(c) == 0 || n == len(bounds) {
			return bounds, nil
		}
	}
}

// histogramArg is libdm's _build_histogram_arg: the bounds as @stats_create's
// histogram feature wants them, in milliseconds, or in nanoseconds when
// precise is set or any bound is not whole milliseconds (which sets precise).
func histogramArg(bounds []uint64, precise bool) (arg string, isPrecise bool, err error) {
	for i := len(bounds) - 1; i >= 0; i-- {
		if i > 0 && bounds[i] < bounds[i-1] {
			return "", false, fmt.Errorf("Histogram boundaries must be in order of increasing magnitude.")
		}
		if bounds[i]%nsPerMsec != 0 {
			precise = true
		}
	}
	scale := uint64(nsPerMsec)
	if precise {
		scale = 1
	}
	words := make([]string, len(bounds))
	for i, b := range bounds {
		words[i] = fmt.Sprint(b / scale)
	}
	return strings.Join(words, ","), precise, nil
}

// statsHistogram is a latency histogram as libdm reads one: its bins'
// upper bounds in nanoseconds (the last one unbounded, MaxUint64), their
// counts, and the counts' sum.
type statsHistogram struct {
	uppers, counts []uint64
	sum            uint64
}

// Flags of histogramString, libdm's DM_HISTOGRAM_*.
const (
	histSuffix      = 0x1
	histValues      = 0x2
	histPercent     = 0x4
	histBoundsLower = 0x10
	histBoundsUpper = 0x20
	histBoundsRange = 0x30
	histBoundsMask  = 0x30
)

func (h *statsHistogram) lower(bin int) uint64 {
	if bin == 0 {
		return 0
	}
	return h.uppers[bin-1]
}

// percent is libdm's dm_histogram_get_bin_percent as a float.
func (h *statsHistogram) percent(bin int) float32 {
	v := h.counts[bin]
	if h.sum == 0 || v == 0 || h.uppers[bin] == h.lower(bin) {
		return 0
	}
	return percentToFloat(makePercent(v, h.sum))
}

// timeSuffix is libdm's _scale_bound_value_to_suffix: a time in
// nanoseconds in the largest unit that divides it.
func timeSuffix(v uint64) (uint64, string) {
	switch {
	case v%nsPerSec == 0:
		return v / nsPerSec, "s"
	case v%nsPerMsec == 0:
		return v / nsPerMsec, "ms"
	case v%nsPerUsec == 0:
		return v / nsPerUsec, "us"
	}
	return v, "ns"
}

// boundsString is libdm's _make_bounds_string: one bin's lower bound (padded
// to width), upper bound, or range, with ":" after it when values follow.
func boundsString(lower, upper uint64, flags, width int) string {
	bounds := flags & histBoundsMask
	lSuffix, uSuffix := "", ""
	l, u := lower, upper
	if flags&histSuffix != 0 {
		l, lSuffix = timeSuffix(lower)
		u, uSuffix = timeSuffix(upper)
	}
	sep := ""
	if flags&histValues != 0 {
		sep = ":"
	}
	var bound string
	if bounds > histBoundsLower {
		if upper == math.MaxUint64 {
			bound = fmt.Sprintf(">%d%s", l, lSuffix)
			bounds = histBoundsUpper
		} else {
			bound = fmt.Sprintf("%d%s", u, uSuffix)
		}
	} else {
		bound = fmt.Sprintf("%d%s", l, lSuffix)
	}
	if bounds == histBoundsRange {
		return fmt.Sprintf("%d%s-%s%s", l, lSuffix, bound, sep)
	}
	return fmt.Sprintf("%*s%s", width, bound, sep)
}

// String widths of histogramString (libdm's).
const (
	histBoundWidthNoSuffix = 10
	histBoundWidth         = 6
	histCountWidth         = 6
	histPercentWidth       = 6
)

// histogramString is libdm's dm_histogram_to_string for every bin: counts
// or percentages (values), each after its bounds as flags say, padded to
// width (0: the default; -1: none, as with --noheadings).
func (h *statsHistogram) histogramString(width, flags int) string {
	bounds := flags & histBoundsMask
	values := flags&histValues != 0
	switch {
	case width < 0 || !values:
		width = 0
	case flags&histPercent != 0 && width == 0:
		width = histPercentWidth
	case width == 0:
		width = histCountWidth
	}
	minWidth := width
	sep := ""
	if values && width == 0 {
		sep = ":"
	}
	var b strings.Builder
	last := len(h.uppers) - 1
	for bin := 0; bin <= last; bin++ {
		boundsText := ""
		if bounds != 0 {
			boundsWidth := histBoundWidth
			if flags&histSuffix == 0 {
				boundsWidth = histBoundWidthNoSuffix
			}
			if width == 0 {
				boundsWidth = 0
			}
			boundsText = boundsString(h.lower(bin), h.uppers[bin], flags, boundsWidth)
			if width != 0 || !values {
				sep = ","
			} else {
				sep = ":"
			}
			if width != 0 {
				width -= len(boundsText) - (boundsWidth + 1)
			}
			width = max(width, 0)
		}
		if bin == last {
			sep = ""
		}
		switch {
		case flags&histPercent != 0:
			fmt.Fprintf(&b, "%s%*.2f%%%s", boundsText, width, h.percent(bin), sep)
		case values:
			fmt.Fprintf(&b, "%s%*d%s", boundsText, width, h.counts[bin], sep)
		case bounds != 0:
			fmt.Fprintf(&b, "%s%s", boundsText, sep)
		}
		width = minWidth
	}
	return b.String()
}

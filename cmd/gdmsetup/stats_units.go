package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// unitsToFactor is libdm's dm_units_to_factor (not strict): an optional
// number, then a unit letter: h, H, r, R (human-readable, factor 1), b, s,
// k m g t p e (powers of 1024), K M G T P E (of 1000). It returns the
// factor in bytes (0: not units) and the unit type: the letter, or 'U' when
// a number other than 1 came before it.
func unitsToFactor(s string) (factor uint64, unitType byte) {
	v, custom := uint64(1), 0.0
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		end := 0
		for end < len(s) && (s[end] >= '0' && s[end] <= '9' || s[end] == '.') {
			end++
		}
		f, err := strconv.ParseFloat(s[:end], 64)
		if err != nil {
			return 0, 0
		}
		digits := strings.IndexByte(s[:end]+".", '.')
		v, _ = strconv.ParseUint(s[:digits], 10, 64)
		if math.Abs(float64(v)-f) >= 1e-12 {
			custom = f
		}
		s = s[end:]
	}
	var u byte
	if s != "" {
		u = s[0]
	}
	unitType = u
	if v != 1 {
		unitType = 'U'
	}
	var mult uint64
	switch u {
	case 'h', 'H', 'r', 'R':
		mult, v, unitType = 1, 1, u
	case 'b', 'B':
		mult = 1
	case 's', 'S':
		mult = 512
	default:
		if i := strings.IndexByte("kmgtpe", u); i >= 0 && u != 0 {
			mult = 1 << (10 * (i + 1))
		} else if i := strings.IndexByte("KMGTPE", u); i >= 0 && u != 0 {
			mult = 1
			for ; i >= 0; i-- {
				mult *= 1000
			}
		} else {
			return 0, 0
		}
	}
	if custom != 0 {
		return uint64(custom * float64(mult)), unitType
	}
	return v * mult, unitType
}

// statsUnits is how a stats report shows sizes: --units' unit type and
// factor (dmsetup's stats default "h", human-readable).
type statsUnits struct {
	unitType byte
	factor   uint64
}

// sizeString is libdm's dm_size_to_string for a size in sectors as dmsetup's
// stats fields call it (SI letters case-dependent, no suffix but in
// human-readable form): "0" for 0; human-readable in powers of 1024 (h, r)
// or 1000 (H, R) with the unit's letter, r and R marking with "<" a value
// rounded up; otherwise the size in the unit, bytes and sectors without
// decimals. The bytes wrap at 2^64 as libdm's do.
func (u statsUnits) sizeString(sectors uint64) string {
	if sectors == 0 {
		return "0"
	}
	size := sectors * 512
	switch u.unitType {
	case 'h', 'H', 'r', 'R':
	default:
		precision := 2
		switch u.unitType {
		case 'b', 'B', 's', 'S':
			precision = 0
		}
		return fmt.Sprintf("%.*f", precision, float64(size)/float64(u.factor))
	}
	units, letters := uint64(1024), "eptgmkb"
	if u.unitType == 'H' || u.unitType == 'R' {
		units, letters = 1000, "EPTGMKB"
	}
	b := units * units * units * units * units * units
	s := 0
	for ; s < 6 && size < b; s++ {
		b /= units
	}
	prefix := ""
	if s < 6 && (u.unitType == 'r' || u.unitType == 'R') {
		d := 100 * float64(size) / float64(b)
		if math.Floor(d) != math.RoundToEven(d) {
			prefix = "<"
		}
	}
	precision := 2
	if s == 6 {
		precision = 0
	}
	return fmt.Sprintf("%s%.*f%c", prefix, precision, float64(size)/float64(b), letters[s])
}

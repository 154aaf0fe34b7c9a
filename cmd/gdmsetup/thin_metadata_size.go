package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// Output units of thin_metadata_size: a letter or a word (a word may be cut
// short to any prefix; the first in this order wins) and the bytes in one,
// computed in 64 bits as the tool does, so zebi- and yobibytes overflow to 0
// and zetta- and yottabytes wrap.
var (
	sizeUnitLetters = "bskKmMgGtTpPeEzZyY"
	sizeUnitWords   = []string{"bytes", "sectors",
		"kibibytes", "kilobytes", "mebibytes", "megabytes",
		"gibibytes", "gigabytes", "tebibytes", "terabytes",
		"pebibytes", "petabytes", "ebibytes", "exabytes",
		"zebibytes", "zetabytes", "yobibytes", "yottabytes"}
	sizeUnitBytes = func() []uint64 {
		f := []uint64{1, 512, 1024, 1000}
		for u := 4; u < len(sizeUnitWords); u += 2 {
			f = append(f, f[u-2]*f[2], f[u-1]*f[3])
		}
		return f
	}()
)

// unitSectors is the index of the unit "sectors", thin_metadata_size's default.
const unitSectors = 1

// sizeUnit returns the index of unit, a letter or a prefix of a word, or -1.
func sizeUnit(unit string) int {
	if len(unit) == 1 {
		return strings.IndexByte(sizeUnitLetters, unit[0])
	}
	for i, w := range sizeUnitWords {
		if strings.HasPrefix(w, unit) {
			return i
		}
	}
	return -1
}

// The sizes thin_metadata_size reads, indexes of metadataSize's n and echo.
const (
	sizeBlock = iota
	sizePool
	sizeMaxThins
)

// Output forms of -n.
const (
	numericNone  = iota // full sentence
	numericPlain        // -n: the number alone
	numericShort        // -n=short: the number and the unit's letter
	numericLong         // -n=long: the number and the unit's word
)

// metadataSize is thin_metadata_size's state while it reads its command line.
type metadataSize struct {
	unit    int       // output unit (index in sizeUnitWords)
	n       [3]uint64 // block and pool size in sectors, max thins
	echo    [3]string // each size as the tool echoes it: its digits and a unit word
	numeric int
}

// setSize reads -b, -s or -m: digits then an optional unit (none: sectors, or
// for -m a count). Sizes are kept in sectors, truncated; a count with a unit
// is its number of bytes, as the tool computes it. The echo of a size given
// without unit names the output unit chosen so far, as the tool's does.
func (c *metadataSize) setSize(which int, arg string) error {
	if c.n[which] != 0 {
		return errors.New("option already given!")
	}
	digits := arg[:len(arg)-len(strings.TrimLeft(arg, "0123456789"))]
	unit, given := unitSectors, false
	if suffix := arg[len(digits):]; suffix != "" {
		if unit = sizeUnit(suffix); unit < 0 {
			return errors.New("Invalid unit specifier!")
		}
		given = true
	}
	v := atoll(digits) * sizeUnitBytes[unit]
	if !given || which != sizeMaxThins {
		v /= sizeUnitBytes[unitSectors]
	}
	c.n[which] = v
	switch {
	case given:
		c.echo[which] = digits + sizeUnitWords[unit]
	case which != sizeMaxThins:
		c.echo[which] = digits + sizeUnitWords[c.unit]
	default:
		c.echo[which] = digits
	}
	return nil
}

// atoll is C's atoll on a string of decimal digits: 0 for none, saturated at
// the largest int64.
func atoll(digits string) uint64 {
	var v uint64
	for i := 0; i < len(digits); i++ {
		d := uint64(digits[i] - '0')
		if v > (math.MaxInt64-d)/10 {
			return math.MaxInt64
		}
		v = v*10 + d
	}
	return v
}

// setNumeric reads -n: bare (no value) or with a prefix of "short" or "long".
func (c *metadataSize) setNumeric(arg string, hasValue bool) error {
	if c.numeric != numericNone {
		return errors.New("-n already given!")
	}
	switch {
	case !hasValue:
		c.numeric = numericPlain
	case arg != "" && strings.HasPrefix("long", arg):
		c.numeric = numericLong
	case arg != "" && strings.HasPrefix("short", arg):
		c.numeric = numericShort
	default:
		return errors.New("-n invalid option argument")
	}
	return nil
}

// check refuses what thin_metadata_size refuses once its command line is read.
func (c *metadataSize) check() error {
	switch block := c.n[sizeBlock]; {
	case block == 0:
		return errors.New("block size required!")
	case c.n[sizePool] == 0:
		return errors.New("pool size required!")
	case c.n[sizeMaxThins] == 0:
		return errors.New("max thins required!")
	case block&(block-1) != 0:
		return errors.New("block size must be 2^^N")
	case c.n[sizePool] <= block:
		return errors.New("pool size must be larger than block size")
	}
	return nil
}

// estimate returns the metadata size in the output unit: one 4 KiB block per
// thin device, twice the leaf blocks the pool's mappings fill (252 to a
// block), and the superblock. The sum is computed in 64 bits, then in
// float64, as the tool does.
func (c *metadataSize) estimate() float64 {
	const mappingsPerBlock = (4096 - 64) / 16
	blocks := 2*c.n[sizePool]/c.n[sizeBlock]/mappingsPerBlock + c.n[sizeMaxThins]
	r := 1.0 + float64(blocks)
	r *= float64(8 * sizeUnitBytes[unitSectors])
	return r / float64(sizeUnitBytes[c.unit])
}

// write prints the estimate r as thin_metadata_size does: a whole number as
// an integer (as the tool's conversion to unsigned long long gives it on
// x86-64), else with two decimals, in exponent form when the fraction is
// below 0.01.
func (c *metadataSize) write(w io.Writer, r float64) {
	var b strings.Builder
	if c.numeric == numericNone {
		b.WriteString("thin_metadata_size - ")
	}
	switch floor := math.Floor(r); {
	case r == floor:
		fmt.Fprintf(&b, "%d", x86Uint64(r))
	case r-floor < 1e-2:
		fmt.Fprintf(&b, "%.2e", r)
	default:
		fmt.Fprintf(&b, "%.2f", r)
	}
	switch c.numeric {
	case numericNone:
		fmt.Fprintf(&b, " %s estimated metadata area size for \"--block-size=%s --pool-size=%s --max-thins=%s\"",
			sizeUnitWords[c.unit], c.echo[sizeBlock], c.echo[sizePool], c.echo[sizeMaxThins])
	case numericShort:
		b.WriteByte(sizeUnitLetters[c.unit])
	case numericLong:
		b.WriteString(sizeUnitWords[c.unit])
	}
	b.WriteByte('\n')
	io.WriteString(w, b.String())
}

// x86Uint64 converts r >= 0 to uint64 as GCC's code does on x86-64: values of
// 2^64 and more, and infinity, give 0 (cvttsd2si's 2^63 for out of range,
// with the top bit then flipped).
func x86Uint64(r float64) uint64 {
	const two63 = 1 << 63
	if r < two63 {
		return uint64(int64(r))
	}
	if r -= two63; r < two63 {
		return uint64(int64(r)) ^ two63
	}
	return 0
}

// thinMetadataSizeHelp is thin_metadata_size's help in its layout.
var thinMetadataSizeHelp = func() string {
	var b strings.Builder
	b.WriteString("Thin Provisioning Metadata Device Size Calculator.\nUsage: gdmsetup thin metadata_size [options]\n")
	for _, l := range [][3]string{
		{"-b", "--block-size BLOCKSIZE[" + sizeUnitLetters + "]", "Block size of thin provisioned devices."},
		{"-s", "--pool-size SIZE[" + sizeUnitLetters + "]", "Size of pool device."},
		{"-m", "--max-thins #MAXTHINS[" + sizeUnitLetters + "]", "Maximum sum of all thin devices and snapshots."},
		{"-u", "--unit {" + sizeUnitLetters + "}", "Output unit specifier."},
		{"-n", "--numeric-only [short|long]", "Output numeric value only (optionally with short/long unit identifier)."},
		{"-h", "--help", "This help."},
		{"-V", "--version", "Print thin provisioning tools version."},
	} {
		fmt.Fprintf(&b, "\t%-4s%-44s%s\n", l[0], l[1], l[2])
	}
	return b.String()
}()

// thinMetadataSizeOptions is thin_metadata_size's getopt_long table.
var thinMetadataSizeOptions = []longOption{
	{name: "block-size", arg: requiredArgument, key: "b"}, {name: "pool-size", arg: requiredArgument, key: "s"},
	{name: "max-thins", arg: requiredArgument, key: "m"}, {name: "unit", arg: requiredArgument, key: "u"},
	{name: "numeric-only", arg: optionalArgument, key: "n"}, {name: "help", key: "h"}, {name: "version", key: "V"},
}

// thinMetadataSize is `gdmsetup thin metadata_size -b BLOCKSIZE -s POOLSIZE -m
// MAXTHINS [-u UNIT] [-n[short|long]]`: thin_metadata_size 0.9.0's calculator, the
// same output for the same arguments. As the tool, it ignores words that are not
// options and prints no usage after a refused command line. It returns the exit
// code.
func thinMetadataSize(args []string, stdout, stderr io.Writer) int {
	tf := newToolFlags("metadata_size", "b:s:m:u:n::hV", thinMetadataSizeOptions, thinMetadataSizeHelp)
	tf.usage = ""
	c := &metadataSize{unit: unitSectors}
	for key, which := range map[string]int{"b": sizeBlock, "s": sizePool, "m": sizeMaxThins} {
		tf.on(key, func(s string, _ bool) error { return c.setSize(which, s) })
	}
	tf.on("u", func(s string, _ bool) error {
		if c.unit = sizeUnit(s); c.unit < 0 {
			return errors.New("output unit specifier invalid!")
		}
		return nil
	})
	tf.on("n", c.setNumeric)
	if _, code, ok := tf.parse(args, stdout, stderr); !ok {
		return code
	}
	if err := c.check(); err != nil {
		return tf.refuse(stderr, err.Error())
	}
	c.write(stdout, c.estimate())
	return 0
}

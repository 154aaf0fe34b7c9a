package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/gdmsetup/gdmsetup/targets/thinpool/metadata"
)

// thinRmapUsage is thin_rmap's help.
const thinRmapUsage = `Usage: gdmsetup thin rmap [options] {device|file}
Options:
  {-h|--help}
  {-V|--version}
  {--region <block range>}*
Where:
  <block range> is of the form <begin>..<one-past-the-end>
  for example 5..45 denotes blocks 5 to 44 inclusive, but not block 45
`

// thinRmapOptions is thin_rmap's getopt_long table.
var thinRmapOptions = []longOption{
	{name: "help", key: "h"}, {name: "version", key: "V"}, {name: "region", arg: requiredArgument},
}

// thinRmap is `gdmsetup thin rmap --region B..E [--region ...] META`: thin_rmap
// 0.9.0. It prints, for the data blocks in the regions, which thin device and
// virtual blocks map them ("data B..E -> thin(DEV) V..W"), the same bytes as
// thin_rmap, and returns the exit code. META is only read.
func thinRmap(args []string, stdout, stderr io.Writer) int {
	tf := newToolFlags("rmap", "hV", thinRmapOptions, thinRmapUsage)
	var regions []metadata.DataRegion
	tf.on("region", func(s string, _ bool) error {
		r, err := parseDataRegion(s)
		if err != nil {
			return fmt.Errorf("--region %q: %w", s, err)
		}
		regions = append(regions, r)
		return nil
	})
	meta, code, ok := tf.metaPath(args, stdout, stderr, "No input file provided.")
	switch {
	case !ok:
		return code
	case len(regions) == 0:
		return tf.refuse(stderr, "No regions provided.")
	}
	if err := printRmap(meta, regions, stdout); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", tf.name(), err)
		return 1
	}
	return 0
}

// printRmap writes the reverse map of regions in the metadata at meta.
func printRmap(meta string, regions []metadata.DataRegion, stdout io.Writer) error {
	f, _, err := openMetaFile(meta, true, true)
	if err != nil {
		return err
	}
	defer f.Close()
	rmap, err := metadata.Rmap(f, regions)
	if err != nil {
		return fmt.Errorf("%s: %w", meta, err)
	}
	w := bufio.NewWriter(stdout)
	var line []byte
	for _, r := range rmap {
		line = append(line[:0], "data "...)
		line = strconv.AppendUint(line, r.DataBegin, 10)
		line = append(line, ".."...)
		line = strconv.AppendUint(line, r.DataEnd, 10)
		line = append(line, " -> thin("...)
		line = strconv.AppendUint(line, uint64(r.ThinDev), 10)
		line = append(line, ") "...)
		line = strconv.AppendUint(line, r.ThinBegin, 10)
		line = append(line, ".."...)
		line = strconv.AppendUint(line, r.ThinBegin+(r.DataEnd-r.DataBegin), 10)
		line = append(line, '\n')
		w.Write(line)
	}
	return w.Flush()
}

// parseDataRegion reads "B..E" as thin_rmap does with C++ stream extraction
// (each number after optional white space and sign, trailing text ignored),
// with its words for what is wrong.
func parseDataRegion(s string) (metadata.DataRegion, error) {
	begin, rest, ok := extractUint64(s)
	if !ok || len(rest) < 2 || rest[:2] != ".." {
		return metadata.DataRegion{}, errors.New("badly formed region (no dots)")
	}
	end, _, ok := extractUint64(rest[2:])
	if !ok {
		return metadata.DataRegion{}, errors.New("badly formed region (couldn't parse numbers)")
	}
	if end <= begin {
		return metadata.DataRegion{}, errors.New("badly formed region (end <= begin)")
	}
	return metadata.DataRegion{Begin: begin, End: end}, nil
}

// extractUint64 reads an unsigned decimal number from the start of s as
// `istream >> unsigned long` does in the C locale: white space skipped, an
// optional sign ("-" negates modulo 2^64), at least one digit; ok is false
// without digits or on overflow. It returns the text after the digits.
func extractUint64(s string) (v uint64, rest string, ok bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] >= '\t' && s[i] <= '\r') {
		i++
	}
	negative := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		negative = s[i] == '-'
		i++
	}
	start, overflow := i, false
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		d := uint64(s[i] - '0')
		if v > (math.MaxUint64-d)/10 {
			overflow = true
		}
		v = v*10 + d
	}
	if i == start || overflow {
		return 0, s[i:], false
	}
	if negative {
		v = -v
	}
	return v, s[i:], true
}

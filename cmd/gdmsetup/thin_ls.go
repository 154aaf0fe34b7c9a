package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/gdmsetup/gdmsetup/targets/thinpool/metadata"
)

// thinLsFields are thin_ls's output fields in its order; thinLsDefault is what it
// prints without -o.
var (
	thinLsFields = []string{"DEV", "MAPPED_BLOCKS", "EXCLUSIVE_BLOCKS", "SHARED_BLOCKS",
		"MAPPED_SECTORS", "EXCLUSIVE_SECTORS", "SHARED_SECTORS",
		"MAPPED_BYTES", "EXCLUSIVE_BYTES", "SHARED_BYTES",
		"MAPPED", "EXCLUSIVE", "SHARED", "TRANSACTION", "CREATE_TIME", "SNAP_TIME"}
	thinLsDefault = "DEV,MAPPED,CREATE_TIME,SNAP_TIME"
)

// thinLsUsage is thin_ls's help: its options, then its fields.
var thinLsUsage = `Usage: gdmsetup thin ls [options] {metadata device}
Options:
  {-h|--help}
  {-m|--metadata-snap}
  {--no-headers}
  {-o|--format <fields>}
  {-V|--version}

where <fields> is a comma separated list from:
  ` + strings.Join(thinLsFields, "\n  ") + "\n"

// thinLsOptions is thin_ls's getopt_long table: -m takes an optional value that is
// ignored, --metadata-snap none.
var thinLsOptions = []longOption{
	{name: "help", key: "h"}, {name: "metadata-snap", key: "m"}, {name: "version", key: "V"},
	{name: "format", arg: requiredArgument, key: "o"}, {name: "no-headers"},
}

// thinLs runs `gdmsetup thin ls` (thin_ls): a table of the pool's thin devices with
// the fields of -o/--format, --no-headers, and -m for the metadata snapshot. It
// returns the exit code.
func thinLs(args []string, stdout, stderr io.Writer) int {
	tf := newToolFlags("ls", "ho:m::V", thinLsOptions, thinLsUsage)
	fields := strings.Split(thinLsDefault, ",")
	var noHeaders, snap bool
	tf.on("o", func(s string, _ bool) (err error) {
		fields, err = parseThinLsFields(s)
		return err
	})
	tf.flag("no-headers", &noHeaders)
	tf.flag("m", &snap)
	meta, code, ok := tf.metaPath(args, stdout, stderr, "No input file provided.")
	if !ok {
		return code
	}
	exclusive := false
	for _, f := range fields {
		exclusive = exclusive || strings.Contains(f, "EXCLUSIVE") || strings.Contains(f, "SHARED")
	}
	p, closeMeta, err := openThinMeta(meta, !snap)
	if err == nil {
		defer closeMeta()
		var devs []metadata.DeviceUsage
		if devs, err = p.Usage(snap, exclusive); err == nil {
			writeThinLs(stdout, fields, devs, uint64(p.DataBlockSize()), !noHeaders)
			return 0
		}
		err = fmt.Errorf("%s: %w", meta, err)
	}
	fmt.Fprintf(stderr, "%s: %v\n", tf.name(), err)
	return 1
}

// parseThinLsFields reads -o's comma-separated fields as thin_ls does (a trailing
// comma ends the list), refusing one it does not know.
func parseThinLsFields(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	fields := strings.Split(s, ",")
	if fields[len(fields)-1] == "" {
		fields = fields[:len(fields)-1]
	}
	for _, f := range fields {
		if !slices.Contains(thinLsFields, f) {
			return nil, fmt.Errorf("unknown field %q (fields: %s)", f, strings.Join(thinLsFields, ","))
		}
	}
	return fields, nil
}

// writeThinLs prints thin_ls's grid: every cell right-aligned to its column's width
// and followed by one space, a newline after each row.
func writeThinLs(w io.Writer, fields []string, devs []metadata.DeviceUsage, blockSectors uint64, headers bool) {
	var rows [][]string
	if headers {
		rows = append(rows, fields)
	}
	for _, d := range devs {
		row := make([]string, len(fields))
		for i, f := range fields {
			row[i] = thinLsCell(f, &d, blockSectors)
		}
		rows = append(rows, row)
	}
	widths := make([]int, len(fields))
	for _, row := range rows {
		for i, c := range row {
			widths[i] = max(widths[i], len(c))
		}
	}
	var b strings.Builder
	for _, row := range rows {
		if len(row) == 0 {
			continue
		}
		for i, c := range row {
			fmt.Fprintf(&b, "%*s ", widths[i], c)
		}
		b.WriteByte('\n')
	}
	io.WriteString(w, b.String())
}

// thinLsCell is field f of device d. SHARED is what the details count as mapped less
// what is exclusive, as thin_ls computes it.
func thinLsCell(f string, d *metadata.DeviceUsage, blockSectors uint64) string {
	kind, unit, _ := strings.Cut(f, "_")
	var blocks uint64
	switch kind {
	case "DEV":
		return strconv.FormatUint(d.ID, 10)
	case "TRANSACTION":
		return strconv.FormatUint(d.TransactionID, 10)
	case "CREATE":
		return strconv.FormatUint(uint64(d.CreationTime), 10)
	case "SNAP":
		return strconv.FormatUint(uint64(d.SnapshottedTime), 10)
	case "MAPPED":
		blocks = d.MappedBlocks
	case "EXCLUSIVE":
		blocks = d.ExclusiveBlocks
	case "SHARED":
		blocks = d.MappedBlocks - d.ExclusiveBlocks
	}
	switch unit {
	case "BLOCKS":
		return strconv.FormatUint(blocks, 10)
	case "SECTORS":
		return strconv.FormatUint(blocks*blockSectors, 10)
	case "BYTES":
		return strconv.FormatUint(blocks*blockSectors*512, 10)
	}
	return formatDiskUnit(blocks * blockSectors * 512)
}

// formatDiskUnit writes a byte count as thin-provisioning-tools does: divided by 1024
// (truncating) while above 1 MiB, then, when above 8 KiB, once more with rounding; the
// unit follows with no space (e.g. 4096, 64KiB, 1024MiB).
func formatDiskUnit(bytes uint64) string {
	units := []string{"", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	i := 0
	for ; bytes > 1<<20; i++ {
		bytes /= 1024
	}
	if bytes > 8<<10 {
		bytes = uint64(math.Round(float64(bytes) / 1024))
		i++
	}
	return strconv.FormatUint(bytes, 10) + units[i]
}

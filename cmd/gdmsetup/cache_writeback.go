package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gdmsetup/gdmsetup/targets/cache"
)

// cacheWritebackUsage is cache_writeback's help.
const cacheWritebackUsage = "Usage: gdmsetup cache writeback [options]\n" +
	"\t\t--metadata-device <dev>\n" +
	"\t\t--origin-device <dev>\n" +
	"\t\t--fast-device <dev>\n" +
	"\t\t--buffer-size-meg <size>\n" +
	"\t\t--list-failed-blocks\n" +
	"\t\t--no-metadata-update\n" +
	"Options:\n" +
	"  {-h|--help}\n" +
	"  {-V|--version}\n"

// cacheWritebackOptions is cache_writeback's getopt_long table.
var cacheWritebackOptions = []longOption{
	{name: "metadata-device", arg: requiredArgument}, {name: "origin-device", arg: requiredArgument},
	{name: "fast-device", arg: requiredArgument}, {name: "buffer-size-meg", arg: requiredArgument},
	{name: "list-failed-blocks"}, {name: "no-metadata-update"},
	{name: "help", key: "h"}, {name: "version", key: "V"},
}

// writebackFlags is cache_writeback's command line.
type writebackFlags struct {
	meta, origin, fast string
	bufferBytes        int64
	listFailed, noMeta bool
}

// cacheWriteback is `gdmsetup cache writeback --metadata-device META
// --origin-device ORIGIN --fast-device FAST`: cache_writeback 0.9.0, offline:
// the dirty blocks of the cache (every mapped block when the metadata was not
// shut down cleanly) copied from FAST to ORIGIN, then, unless
// --no-metadata-update, marked clean in META. Its output is the tool's:
// progress on stdout, the count copied, "Updating metadata ... done". It
// returns the exit code: 1 when a block was not copied or the mapping array is
// damaged (the metadata is then left as it was). Unlike 0.9.0 it reads format
// 2's dirty bits, counts and (with --list-failed-blocks) lists the blocks it
// could not copy, and completes the metadata update where 0.9.0 crashes.
func cacheWriteback(args []string, stdout, stderr io.Writer) int {
	tf := newCacheToolFlags("writeback", "hV", cacheWritebackOptions, cacheWritebackUsage)
	f := writebackFlags{bufferBytes: 4 << 20}
	var hasMeta, hasOrigin, hasFast bool
	tf.on("metadata-device", func(v string, _ bool) error { f.meta, hasMeta = v, true; return nil })
	tf.on("origin-device", func(v string, _ bool) error { f.origin, hasOrigin = v, true; return nil })
	tf.on("fast-device", func(v string, _ bool) error { f.fast, hasFast = v, true; return nil })
	tf.on("buffer-size-meg", func(v string, _ bool) error {
		n, ok := lexicalCastUint64(v)
		if !ok || n == 0 || n > 1<<20 {
			return fmt.Errorf("Couldn't parse buffer size: '%s'", v)
		}
		f.bufferBytes = int64(n) << 20
		return nil
	})
	tf.flag("list-failed-blocks", &f.listFailed)
	tf.flag("no-metadata-update", &f.noMeta)
	words, code, ok := tf.parse(args, stdout, stderr)
	switch {
	case !ok:
		return code
	case len(words) != 0:
		io.WriteString(stderr, tf.usage)
		return 1
	case !hasMeta:
		fmt.Fprintf(stderr, "No metadata device provided.\n\n%s", tf.usage)
		return 1
	case !hasOrigin:
		fmt.Fprintf(stderr, "No origin device provided.\n\n%s", tf.usage)
		return 1
	case !hasFast:
		fmt.Fprintf(stderr, "No fast device provided.\n\n%s", tf.usage)
		return 1
	}
	// cache_writeback copies 90% of its buffer at a time (the rest is for sorting)
	f.bufferBytes -= f.bufferBytes / 10
	code, err := writeback(f, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", tf.name(), err)
		return 1
	}
	return code
}

// progressFrame is the tool's progress bar at percent p (its spinner at step
// spin), ended by a carriage return.
func progressFrame(p, spin int) string {
	const width = 50
	equals := max(width*p/100, 1)
	bar := strings.Repeat("=", equals-1)
	if equals < width {
		bar += ">"
	} else {
		bar += "="
	}
	spinner := string(`|/-\`[spin%4])
	if p == 100 {
		spinner = " "
	}
	return fmt.Sprintf("Copying data: [%s%s] %s %d%%\r", bar, strings.Repeat(" ", width-equals), spinner, p)
}

// writeback runs the copy and the metadata update; err is a failure that
// stopped it before its report (the tool's exception).
func writeback(f writebackFlags, stdout, stderr io.Writer) (int, error) {
	metaDev, _, err := openMetaFile(f.meta, f.noMeta, true)
	if err != nil {
		return 1, err
	}
	defer metaDev.Close()
	size, err := metaDev.SizeBytes()
	if err != nil {
		return 1, err
	}
	m, err := cache.OpenTool(metaDev, size)
	if err != nil {
		return 1, fmt.Errorf("%s: %w", f.meta, err)
	}
	if m.SB.DataBlockSectors == 0 {
		return 1, fmt.Errorf("%s: the superblock's data block size is 0", f.meta)
	}
	fast, err := os.Open(f.fast)
	if err != nil {
		return 1, err
	}
	defer fast.Close()
	origin, err := os.OpenFile(f.origin, os.O_RDWR, 0)
	if err != nil {
		return 1, err
	}
	defer origin.Close()

	io.WriteString(stdout, progressFrame(0, 0))
	corrupt := false
	copies, err := m.WritebackPlan(func(d cache.Damage) {
		corrupt = true
		if d.Kind == cache.MissingMappings {
			fmt.Fprintf(stderr, "missing mappings (%s, %s]\n", optionalText(d.Lost.Begin, true), optionalText(d.Lost.End, d.Lost.HasEnd))
		} else {
			fmt.Fprintf(stderr, "%s (%s, %s]\n", d.Desc, optionalText(d.Lost.Begin, true), optionalText(d.Lost.End, d.Lost.HasEnd))
		}
	})
	if err != nil {
		return 1, err
	}
	failed := map[uint64]bool{}
	blockBytes := int64(m.SB.DataBlockSectors) * 512
	cache.CopyBlocks(copies, blockBytes, fast, origin, f.bufferBytes, func(c cache.Copy, err error) {
		failed[c.CBlock] = true
		if f.listFailed {
			fmt.Fprintf(stderr, "cache block %d to origin block %d not copied: %v\n", c.CBlock, c.OBlock, err)
		}
	})
	io.WriteString(stdout, progressFrame(100, 1))
	io.WriteString(stderr, "\n")
	fmt.Fprintf(stdout, "%d/%d blocks successfully copied.\n", len(copies)-len(failed), len(copies))
	if len(failed) > 0 {
		fmt.Fprintf(stdout, "%d blocks were not copied\n", len(failed))
	}
	if err := origin.Sync(); err != nil {
		return 1, fmt.Errorf("%s: %w", f.origin, err)
	}
	switch {
	case corrupt:
		io.WriteString(stdout, "Metadata corruption was found, some data may not have been copied.\n")
		if !f.noMeta {
			io.WriteString(stdout, "Unable to update metadata.\n")
		}
	case !f.noMeta:
		io.WriteString(stdout, "Updating metadata ... ")
		for _, c := range copies {
			if c.Dirty && !failed[c.CBlock] {
				fmt.Fprintf(stderr, "clearing dirty flag for block %d\n", c.CBlock)
			}
		}
		if err := cache.ClearDirty(metaDev, f.meta, failed); err != nil {
			return 1, err
		}
		if err := metaDev.Close(); err != nil {
			return 1, fmt.Errorf("%s: %w", f.meta, err)
		}
		io.WriteString(stdout, "done\n")
	}
	io.WriteString(stdout, "\n")
	if corrupt || len(failed) > 0 {
		return 1, nil
	}
	return 0, nil
}

// optionalText is how boost prints an optional number: " N", or "--" when
// there is none.
func optionalText(v uint64, set bool) string {
	if !set {
		return "--"
	}
	return fmt.Sprintf(" %d", v)
}

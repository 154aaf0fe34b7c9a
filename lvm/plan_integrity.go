package lvm

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gdmsetup/gdmsetup/table"
)

// integrityOptionals are the optional settings of an integrity segment, each named as its
// table argument, in the order libdm 1.02.185 loads them.
var integrityOptionals = []string{"journal_sectors", "interleave_sectors", "buffer_sectors", "journal_watermark", "commit_time", "bitmap_flush_interval", "sectors_per_bit"}

// memberLines maps a raid member's image or metadata LV: an image with an integrity segment
// (lvm2's --raidintegrity y) is planned with its layers (integrity), any other through
// plainLines.
func (p *planner) memberLines(lv *LV) ([]table.Line, error) {
	if len(lv.Segments) == 0 || lv.Segments[0].Type != "integrity" {
		return p.plainLines(lv)
	}
	l, err := p.integrity(lv)
	if err != nil {
		return nil, fmt.Errorf("LV %s/%s: %w", p.vg.Name, lv.Name, err)
	}
	return []table.Line{l}, nil
}

// integrity plans the layers of lv, an LV of one integrity segment (a raid image with
// integrity: its data moved to VG-LV_iorig, its tags and journal or bitmap on VG-LV_imeta)
// and returns the integrity line libdm 1.02.185 loads for it: data_sectors long, over the
// origin with no reserved sectors, the tag size and mode, then fix_padding, block_size,
// internal_hash, meta_device, recalculate (while the text asks for the initial
// recalculation) and the optional settings the text holds. The metadata LV is planned before
// the origin, as lvm2 creates them. Bitmap mode is refused under a read-only activation.
func (p *planner) integrity(lv *LV) (table.Line, error) {
	if len(lv.Segments) != 1 {
		return table.Line{}, fmt.Errorf("%d segments, an integrity LV has one", len(lv.Segments))
	}
	s := lv.Segments[0].Section
	origin, err := s.Str("origin")
	if err != nil {
		return table.Line{}, fmt.Errorf("integrity: %w", err)
	}
	meta, err := s.Str("meta_dev")
	if err != nil {
		return table.Line{}, fmt.Errorf("integrity: %w (lvm2 makes integrity with a metadata LV only)", err)
	}
	dataSectors, err := s.Uint("data_sectors")
	if err != nil {
		return table.Line{}, fmt.Errorf("integrity: %w", err)
	}
	if dataSectors == 0 || dataSectors > p.lenSectors(lv) {
		return table.Line{}, fmt.Errorf("integrity: data_sectors %d, the LV holds %d sectors", dataSectors, p.lenSectors(lv))
	}
	settings, err := integritySettings(s)
	if err != nil {
		return table.Line{}, fmt.Errorf("integrity: %w", err)
	}
	if p.o.ReadOnly && settings.mode == "B" {
		return table.Line{}, fmt.Errorf("integrity in bitmap mode writes its superblock at every activation, which writes the images (the 6.1 kernel lets that write through a read-only device): not under a read-only activation")
	}
	var devs [2]string
	for i, name := range []string{meta, origin} {
		if devs[i], err = p.layer(name, ""); err != nil {
			return table.Line{}, fmt.Errorf("integrity: %w", err)
		}
	}
	args := []string{"/dev/mapper/" + devs[1], "0", settings.tagSize, settings.mode}
	opts := append([]string{"fix_padding", "block_size:" + settings.blockSize, "internal_hash:" + settings.hash, "meta_device:/dev/mapper/" + devs[0]}, settings.optional...)
	args = append(append(args, strconv.Itoa(len(opts))), opts...)
	return line(0, dataSectors, "integrity", args...), nil
}

// integrityConfig is an integrity segment's settings as table arguments.
type integrityConfig struct {
	mode, tagSize, blockSize, hash string
	// optional: recalculate and the settings of integrityOptionals, as arguments
	optional []string
}

// integritySettings reads and checks an integrity segment's settings: mode J (journal) or B
// (bitmap), the modes lvm2 makes; a tag size of 1 to 255 bytes; a block size of 512, 1024,
// 2048 or 4096 bytes; an internal hash named without blanks or colons (no key: lvm2 keeps
// none); the optional numbers.
func integritySettings(s *Section) (integrityConfig, error) {
	var c integrityConfig
	var err error
	if c.mode, err = s.Str("mode"); err != nil {
		return c, err
	}
	if c.mode != "J" && c.mode != "B" {
		return c, fmt.Errorf("mode %q (J for journal or B for bitmap)", c.mode)
	}
	tag, err := s.Uint("tag_size")
	if err != nil {
		return c, err
	}
	if tag == 0 || tag > 255 {
		return c, fmt.Errorf("tag_size %d (1 to 255 bytes)", tag)
	}
	block, err := s.Uint("block_size")
	if err != nil {
		return c, err
	}
	if block < 512 || block > 4096 || block&(block-1) != 0 {
		return c, fmt.Errorf("block_size %d (512, 1024, 2048 or 4096 bytes)", block)
	}
	if c.hash, err = s.Str("internal_hash"); err != nil {
		return c, err
	}
	if c.hash == "" || strings.ContainsAny(c.hash, " \t\n\\:") {
		return c, fmt.Errorf("internal_hash %q is not a hash's name", c.hash)
	}
	c.tagSize, c.blockSize = strconv.FormatUint(tag, 10), strconv.FormatUint(block, 10)
	if v, err := s.UintOr("recalculate", 0); err != nil {
		return c, err
	} else if v != 0 {
		c.optional = append(c.optional, "recalculate")
	}
	for _, key := range integrityOptionals {
		if _, ok := s.Keys[key]; !ok {
			continue
		}
		v, err := s.Uint(key)
		if err != nil {
			return c, err
		}
		if key == "interleave_sectors" {
			return c, fmt.Errorf("interleave_sectors %d: lvm2 2.03.16 loads it misspelt (ineterleave_sectors) and the kernel refuses the table", v)
		}
		c.optional = append(c.optional, key+":"+strconv.FormatUint(v, 10))
	}
	return c, nil
}

// integrityLayers are the names of the origin and metadata LVs that lv's integrity segments
// name (none for an LV without integrity).
func integrityLayers(lv *LV) []string {
	var names []string
	for _, seg := range lv.Segments {
		if seg.Type != "integrity" {
			continue
		}
		for _, key := range []string{"origin", "meta_dev"} {
			if v := seg.Section.Keys[key]; v.Kind == KindString {
				names = append(names, v.Str)
			}
		}
	}
	return names
}

// partialRaidWithIntegrity reports whether lv is a raid LV with integrity on its images and
// a member on a PV missing from the images: lvm2 (_lv_activate) then turns degraded and
// partial activation off for the rest of the command, so that the LV and every LV after it
// on a missing PV are refused.
func (p *planner) partialRaidWithIntegrity(lv *LV) bool {
	if len(lv.Segments) != 1 || raidTargets[lv.Segments[0].Type] == "" {
		return false
	}
	areas, err := raidAreas(lv.Segments[0])
	if err != nil {
		return false
	}
	integrity, partial := false, false
	for _, a := range areas {
		if image := p.vg.LV(a.image); image != nil && len(integrityLayers(image)) > 0 {
			integrity = true
		}
		if p.degradedLV(a.image) || a.meta != "" && p.degradedLV(a.meta) {
			partial = true
		}
	}
	return integrity && partial
}

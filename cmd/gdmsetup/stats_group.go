package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Groups of regions, as libdm-stats keeps them: nothing in the kernel but
// a tag in the aux data of the group's first region (its leader, whose id
// is the group's): DMS_GROUP=ALIAS:MEMBERS#USERDATA, MEMBERS the region ids
// in ranges ("0-2,5"), USERDATA the region's own aux data ("-" for none).

const (
	groupTag    = "DMS_GROUP="
	groupSep    = ":"
	groupAuxSep = "#"
)

// statsGroup is one group: its regions' ids, increasing, and its alias.
type statsGroup struct {
	members []uint64
	alias   string
}

// tag is the group's DMS_GROUP= tag (libdm's _build_group_tag).
func (g *statsGroup) tag() string {
	return groupTag + g.alias + groupSep + regionRanges(g.members)
}

// remove takes region id out of the group.
func (g *statsGroup) remove(id uint64) {
	if i, ok := slices.BinarySearch(g.members, id); ok {
		g.members = slices.Delete(g.members, i, i+1)
	}
}

// dropMissing takes out of group id the regions that are not listed,
// warning as libdm does; as libdm's, it checks nothing for group 0.
func (g *statsGroup) dropMissing(h *statsHandle, id uint64) {
	if id == 0 {
		return
	}
	for _, m := range slices.Clone(g.members) {
		if h.region(m) == nil {
			fmt.Fprintf(h.e.stderr, "Group descriptor %d contains non-existent region_id %d.\n", id, m)
			g.remove(m)
		}
	}
}

// regionRanges lists increasing ids with runs as ranges: "0-2,5".
func regionRanges(ids []uint64) string {
	var b strings.Builder
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if i == j {
			fmt.Fprintf(&b, "%d", ids[i])
		} else {
			fmt.Fprintf(&b, "%d-%d", ids[i], ids[j])
		}
		i = j + 1
	}
	return b.String()
}

// parseRegionList is libdm's dm_bitset_parse_list: ids and ranges ("A-B")
// separated by commas, spaces allowed around them. It returns the ids,
// increasing, and the number of bits the set holds (the largest id plus
// one).
func parseRegionList(s string) ([]uint64, uint64, bool) {
	set := map[uint64]bool{}
	var nBits uint64
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(item, "-")
		a, ok1 := decimalWord(strings.TrimSpace(lo))
		b := a
		ok2 := true
		if isRange {
			b, ok2 = decimalWord(strings.TrimSpace(hi))
		}
		if !ok1 || !ok2 || a > b || strings.ContainsAny(strings.TrimSpace(lo), " \t") {
			return nil, 0, false
		}
		nBits = max(nBits, b+1)
		for v := a; v <= b; v++ {
			set[v] = true
		}
	}
	ids := make([]uint64, 0, len(set))
	for v := range set {
		ids = append(ids, v)
	}
	slices.Sort(ids)
	return ids, nBits, true
}

// decimalWord is s as a decimal number of digits only.
func decimalWord(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	var v uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// parseGroupTag reads the group tag in region s's aux data, if any
// (libdm's _parse_aux_data_group), and leaves s the user's aux data.
func parseGroupTag(s *statsRegion) (*statsGroup, error) {
	at := strings.Index(s.auxData, groupTag)
	if at < 0 {
		return nil, nil
	}
	alias, rest, ok := strings.Cut(s.auxData[at+len(groupTag):], groupSep)
	if !ok {
		return nil, usageError("Found malformed group tag while reading aux_data")
	}
	members, user, _ := strings.Cut(rest, groupAuxSep)
	ids, _, ok := parseRegionList(members)
	if !ok {
		return nil, usageError("Could not parse member list while reading group aux_data")
	}
	if len(ids) == 0 || ids[0] != s.id {
		return nil, usageError(fmt.Sprintf("Found invalid group descriptor in region %d aux_data.", s.id))
	}
	if user == "-" {
		user = ""
	}
	s.auxData = user
	return &statsGroup{members: ids, alias: alias}, nil
}

// createGroup is dm_stats_create_group: the regions members lists (present,
// in no group, with the same histogram bounds where they have one) become
// a group, its id the first's, its tag set in that region's aux data.
func (h *statsHandle) createGroup(members, alias string) (uint64, error) {
	if len(h.present()) == 0 {
		return 0, usageError("Could not create group: no regions found.")
	}
	ids, nBits, ok := parseRegionList(members)
	if !ok {
		return 0, usageError(fmt.Sprintf("Could not parse list: '%s'", members))
	}
	if nBits == 0 || nBits-1 >= uint64(len(h.regions)) {
		return 0, usageError(fmt.Sprintf("Invalid region ID: %d", int32(nBits-1)))
	}
	var bounds []uint64
	precise := 0
	for _, id := range ids {
		s := h.region(id)
		switch {
		case s == nil:
			return 0, usageError(fmt.Sprintf("Region ID %d does not exist", id))
		case s.groupID != statsNoGroup:
			return 0, usageError(fmt.Sprintf("Region ID %d already a member of group ID %d", id, s.groupID))
		}
		if s.precise {
			precise++
		}
		if s.bounds != nil {
			if bounds == nil {
				bounds = s.bounds
			} else if !slices.Equal(bounds, s.bounds) {
				return 0, usageError("All region histogram bounds must match exactly")
			}
		}
	}
	if precise > 0 && precise != len(ids) {
		fmt.Fprintln(h.e.stderr, "WARNING: Grouping regions with different clock resolution: precision may be lost.")
	}
	h.warnOverlaps(ids)
	gid := ids[0]
	h.groups[gid] = &statsGroup{members: ids, alias: alias}
	for _, id := range ids {
		h.regions[id].groupID = gid
	}
	return gid, h.setAux(gid, h.regions[gid].auxData)
}

// warnOverlaps warns of regions among ids that overlap, as libdm's
// _stats_group_check_overlap walks them: sorted by start, each merged into
// the next one it overlaps.
func (h *statsHandle) warnOverlaps(ids []uint64) {
	type extent struct{ id, start, len uint64 }
	var exts []extent
	for _, id := range ids {
		s := h.regions[id]
		exts = append(exts, extent{id, s.startSectors, s.lenSectors})
	}
	sort.SliceStable(exts, func(a, b int) bool { return exts[a].start < exts[b].start })
	end := func(x extent) uint64 { return x.start + x.len - 1 }
	for merged := true; merged; {
		merged = false
		var kept []extent
		for i := range exts {
			if i+1 < len(exts) && end(exts[i]) > exts[i+1].start {
				fmt.Fprintf(h.e.stderr, "WARNING: region IDs %d and %d overlap. Some events will be counted twice.\n", exts[i].id, exts[i+1].id)
				if end(exts[i]) > end(exts[i+1]) {
					exts[i+1].id, exts[i+1].len = exts[i].id, exts[i].len
				}
				exts[i+1].start = min(exts[i+1].start, exts[i].start)
				merged = true
				continue
			}
			kept = append(kept, exts[i])
		}
		exts = kept
	}
}

// deleteGroup is dm_stats_delete_group: the group ends; with
// removeRegions its regions are deleted (the last first), otherwise its
// leader's aux data loses the tag.
func (h *statsHandle) deleteGroup(gid uint64, removeRegions bool) error {
	if gid >= uint64(len(h.regions)) {
		return usageError(fmt.Sprintf("Invalid group ID: %d", gid))
	}
	g := h.groups[gid]
	if g == nil {
		return usageError(fmt.Sprintf("Group ID %d does not exist", gid))
	}
	for i := len(g.members) - 1; i >= 0 && g.members[i] > gid; i-- {
		id := g.members[i]
		if removeRegions {
			if err := h.deleteRegion(id); err != nil {
				printError(h.e.stderr, err)
				fmt.Fprintf(h.e.stderr, "WARNING: Failed to delete region %d on %s.\n", id, h.name)
			}
		}
		g.remove(id)
	}
	h.endGroup(gid)
	if removeRegions {
		return h.deleteRegion(gid)
	}
	return h.setAux(gid, h.regions[gid].auxData)
}

// listedStatsHandleShown is listedStatsHandle and the device's name as
// dmsetup shows it, which group and ungroup print.
func listedStatsHandleShown(e *env, name string) (*statsHandle, string, error) {
	h, err := listedStatsHandle(e, name)
	if err != nil {
		return nil, "", err
	}
	shown, err := e.shown(name, "name")
	return h, shown, err
}

// cmdStatsGroup is `stats group --regions LIST [--alias NAME]`: a group of
// the dmstats regions listed.
func cmdStatsGroup(e *env) error {
	if !e.opts.has("regions") {
		return usageError("Group requires --regions.")
	}
	regions := e.opts.str("regions")
	return statsEachDevice(e, e.opts.has("alldevices"), func(name string) error {
		h, shown, err := listedStatsHandleShown(e, name)
		if err != nil {
			return err
		}
		gid, err := h.createGroup(regions, e.opts.str("alias"))
		if err != nil {
			return statsFail(e.stderr, err, fmt.Sprintf("Could not create group on %s: %s", shown, regions))
		}
		fmt.Fprintf(e.stdout, "Grouped regions %s as group ID %d on %s\n", regions, gid, shown)
		return nil
	})
}

// cmdStatsUngroup is `stats ungroup --groupid ID`: the group ends, its
// regions stay.
func cmdStatsUngroup(e *env) error {
	if !e.opts.has("groupid") {
		return usageError("Please specify group id.")
	}
	gid := statsNumber(e, "groupid")
	return statsEachDevice(e, e.opts.has("alldevices"), func(name string) error {
		h, shown, err := listedStatsHandleShown(e, name)
		if err != nil {
			return err
		}
		err = h.deleteGroup(gid, false)
		fmt.Fprintf(e.stdout, "Removed group ID %d on %s\n", gid, shown)
		if err != nil {
			return statsFail(e.stderr, err, fmt.Sprintf("Could not delete group %d on %s.", gid, shown))
		}
		return nil
	})
}

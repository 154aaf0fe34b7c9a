package main

import (
	"fmt"
	"io"
	"strings"
)

// statsHandle is libdm's dm_stats handle bound to one device: the regions
// @stats_list listed (by id; nil where an id has none), the groups their
// aux data describe (by group id, the id of their first region) and, once
// populated, their counters. program is the handle's program id, the one
// a listing without another uses.
type statsHandle struct {
	e       *env
	name    string // the kernel's name of the device
	program string
	regions []*statsRegion
	groups  map[uint64]*statsGroup
	listed  bool
}

// newStatsHandle is a handle on device name's regions of program, not
// listed yet.
func newStatsHandle(e *env, name, program string) *statsHandle {
	return &statsHandle{e: e, name: name, program: program}
}

// listedStatsHandle is a handle on device name's dmstats regions, listed.
func listedStatsHandle(e *env, name string) (*statsHandle, error) {
	h := newStatsHandle(e, name, defaultStatsProgram)
	if err := h.list(defaultStatsProgram); err != nil {
		return nil, err
	}
	return h, nil
}

// region returns the region with id, or nil.
func (h *statsHandle) region(id uint64) *statsRegion {
	if id >= uint64(len(h.regions)) {
		return nil
	}
	return h.regions[id]
}

// present lists the regions in id order.
func (h *statsHandle) present() []*statsRegion {
	var out []*statsRegion
	for _, s := range h.regions {
		if s != nil {
			out = append(out, s)
		}
	}
	return out
}

// list is dm_stats_list: the regions of program ("" for every program),
// their group tags read out of their aux data.
func (h *statsHandle) list(program string) error {
	if err := statsDeviceExists(h.e, "message", h.name); err != nil {
		return err
	}
	reply, err := statsMessage(h.e, h.name, "@stats_list", program)
	if err != nil {
		return err
	}
	h.regions, h.groups, h.listed = nil, map[uint64]*statsGroup{}, true
	for _, line := range strings.SplitAfter(reply, "\n") {
		if line == "" {
			continue
		}
		s, ok := parseStatsListLine(line)
		if !ok {
			return usageError("Could not parse @stats_list response.")
		}
		for uint64(len(h.regions)) < s.id {
			h.regions = append(h.regions, nil)
		}
		h.regions = append(h.regions, s)
		if g, err := parseGroupTag(s); err != nil {
			fmt.Fprintln(h.e.stderr, err)
			fmt.Fprintf(h.e.stderr, "Failed to parse group descriptor from region_id %d aux_data:'%s'\n", s.id, s.auxData)
		} else if g != nil {
			h.groups[s.id] = g
		}
	}
	for id, g := range h.groups {
		g.dropMissing(h, id)
		for _, m := range g.members {
			h.regions[m].groupID = id
		}
	}
	return nil
}

// populate is dm_stats_populate of every region: listed, then each read and
// cleared with @stats_print_clear. It reports false when there is no region.
func (h *statsHandle) populate(program string) (bool, error) {
	if err := h.list(program); err != nil {
		return false, err
	}
	regions := h.present()
	for _, s := range regions {
		reply, err := printStatsRegion(h.e, h.name, s.id, true)
		if err != nil {
			return false, err
		}
		s.counters = parseStatsPrint(reply, s)
	}
	return len(regions) > 0, nil
}

// setAux is libdm's _stats_set_aux: region id's aux data, after the tag of
// the group it leads.
func (h *statsHandle) setAux(id uint64, aux string) error {
	if aux == "" {
		aux = "-"
	}
	if g := h.groups[id]; g != nil {
		aux = g.tag() + "#" + aux
	}
	_, err := statsMessage(h.e, h.name, "@stats_set_aux", fmt.Sprint(id), aux)
	return err
}

// deleteRegion is dm_stats_delete_region: a region of a group leaves it
// first (its leader's tag rewritten; a leader ends the group).
func (h *statsHandle) deleteRegion(id uint64) error {
	listed := h.listed
	if !listed {
		if err := h.list(h.program); err != nil {
			return err
		}
		defer func() { h.regions, h.listed = nil, false }()
	}
	switch {
	case len(h.present()) == 0:
		return usageError(fmt.Sprintf("Could not delete region ID %d: no regions found", id))
	case h.region(id) == nil:
		return usageError(fmt.Sprintf("Region ID %d does not exist", id))
	}
	if gid := h.regions[id].groupID; gid != statsNoGroup {
		g := h.groups[gid]
		g.remove(id)
		if id == gid {
			h.endGroup(gid)
		}
		if err := h.setAux(gid, h.regions[gid].auxData); err != nil {
			printError(h.e.stderr, err)
			return usageError(fmt.Sprintf("Could not remove region ID %d from group ID %d", id, gid))
		}
	}
	if _, err := statsMessage(h.e, h.name, "@stats_delete", fmt.Sprint(id)); err != nil {
		return err
	}
	h.regions[id] = nil
	return nil
}

// endGroup forgets group gid: its regions are in none.
func (h *statsHandle) endGroup(gid uint64) {
	for _, m := range h.groups[gid].members {
		if s := h.region(m); s != nil {
			s.groupID = statsNoGroup
		}
	}
	if s := h.region(gid); s != nil {
		s.groupID = statsNoGroup
	}
	delete(h.groups, gid)
}

// statsFail prints err (when it is not nil) then returns why as the
// command's error, as dmsetup logs libdm's error before its own.
func statsFail(stderr io.Writer, err error, why string) error {
	if err != nil {
		printError(stderr, err)
	}
	return usageError(why)
}

package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gdmsetup/gdmsetup/dm"
)

// reportObj is what one row of dmsetup's device report reads: a device's
// info (name and uuid as the mangling mode shows them), its node in the dependency tree (what it uses and what uses it, as
// libdm's report reads them from its tree), and its name split into LVM
// parts. splitname rows have only split.
type reportObj struct {
	info   dm.Info
	node   *treeNode
	split  splitName
	stderr io.Writer
	// mangling is the command's mode, for the mangled and unmangled fields.
	mangling nameMangling
	// stats is a stats report's row: a region or one of its areas.
	stats *statsRow
	// rawSizes asks size fields for plain numbers (sectors, or sectors per
	// second) in place of --units' text: what sort keys compare.
	rawSizes bool
}

// splitName is a device name's components: the uuid's prefix names the
// subsystem; LVM names split into volume group, logical volume and layer.
type splitName struct {
	subsystem, vg, lv, layer string
}

// splitDeviceName splits name when subsystem is LVM: components are
// separated by single hyphens and a doubled hyphen stands for one
// (libdm's dm_split_lvm_name).
func splitDeviceName(subsystem, name string) splitName {
	s := splitName{subsystem: subsystem}
	if subsystem != "LVM" {
		return s
	}
	rest := name
	next := func() string {
		var b strings.Builder
		for i := 0; i < len(rest); i++ {
			c := rest[i]
			if c == '-' && i+1 < len(rest) {
				if rest[i+1] != '-' {
					rest = rest[i+1:]
					return b.String()
				}
				i++
			}
			b.WriteByte(c)
		}
		rest = ""
		return b.String()
	}
	s.vg = next()
	s.lv = next()
	s.layer = next()
	return s
}

// uuidSubsystem is the part of a uuid before its first hyphen ("" without one).
func uuidSubsystem(uuid string) string {
	p, _, ok := strings.Cut(uuid, "-")
	if !ok {
		return ""
	}
	return p
}

// unmangled is libdm's dm_task_get_name_unmangled (and _uuid_): in mode
// none s decoded, as far as it decodes; in the others s is decoded already.
func (o *reportObj) unmangled(s, what string) (string, error) {
	if o.mangling != mangleNone {
		return s, nil
	}
	return unmangleString(s, what, mangleNone)
}

func text(f func(o *reportObj) string) func(o *reportObj) (string, error) {
	return func(o *reportObj) (string, error) { return f(o), nil }
}

func number(f func(o *reportObj) uint64) func(o *reportObj) (string, error) {
	return func(o *reportObj) (string, error) { return strconv.FormatUint(f(o), 10), nil }
}

// joinNodes lists nodes as name gives them ("" leaves one out).
func joinNodes(nodes []*treeNode, name func(n *treeNode) string) string {
	var out []string
	for _, n := range nodes {
		if s := name(n); s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, ",")
}

func nodeName(n *treeNode) string { return n.name }
func nodeDev(n *treeNode) string  { return n.dev }
func nodeBlk(n *treeNode) string  { return n.blk }

var deviceReportSections = []reportSection{
	{"Mapped Device Name", "name_", []*reportField{
		{"name", "Name", 16, textField, "Name of mapped device.", text(func(o *reportObj) string { return o.info.Name })},
		{"mangled_name", "MangledName", 16, textField, "Mangled name of mapped device.", func(o *reportObj) (string, error) { return mangledOf(o.info.Name, "name", o.mangling) }},
		{"unmangled_name", "UnmangledName", 16, textField, "Unmangled name of mapped device.", func(o *reportObj) (string, error) { return o.unmangled(o.info.Name, "name") }},
		{"uuid", "UUID", 32, textField, "Unique (optional) identifier for mapped device.", text(func(o *reportObj) string { return o.info.UUID })},
		{"mangled_uuid", "MangledUUID", 32, textField, "Mangled unique (optional) identifier for mapped device.", func(o *reportObj) (string, error) { return mangledOf(o.info.UUID, "UUID", o.mangling) }},
		{"unmangled_uuid", "UnmangledUUID", 32, textField, "Unmangled unique (optional) identifier for mapped device.", func(o *reportObj) (string, error) { return o.unmangled(o.info.UUID, "UUID") }},
		{"read_ahead", "RAhead", 6, numberField, "Read ahead value.", number(func(o *reportObj) uint64 {
			if !o.info.Disk {
				fmt.Fprintln(o.stderr, readAheadOpenFailure(o.info))
				return 0
			}
			return o.info.ReadAheadSectors
		})},
	}},
	{"Mapped Device Information", "info_", []*reportField{
		{"blkdevname", "BlkDevName", 16, textField, "Name of block device.", func(o *reportObj) (string, error) {
			if !o.info.Disk {
				return "", fmt.Errorf("Could not resolve block device name for %d:%d.", dm.Major, o.info.Minor)
			}
			return fmt.Sprintf("dm-%d", o.info.Minor), nil
		}},
		{"attr", "Stat", 4, textField, "(L)ive, (I)nactive, (s)uspended, (r)ead-only, read-(w)rite.", text(func(o *reportObj) string { return attr(o.info) })},
		{"tables_loaded", "Tables", 6, textField, "Which of the live and inactive table slots are filled.", text(func(o *reportObj) string {
			switch {
			case o.info.Live && o.info.Inactive:
				return "Both"
			case o.info.Live:
				return "Live"
			case o.info.Inactive:
				return "Inactive"
			}
			return "None"
		})},
		{"suspended", "Suspended", 9, textField, "Whether the device is suspended.", text(func(o *reportObj) string {
			if o.info.Suspended {
				return "Suspended"
			}
			return "Active"
		})},
		{"readonly", "Read-only", 9, textField, "Whether the device is read-only or writeable.", text(func(o *reportObj) string {
			if o.info.ReadOnly {
				return "Read-only"
			}
			return "Writeable"
		})},
		{"devno", "DevNo", 5, textField, "Device major and minor numbers", text(func(o *reportObj) string { return devNo(o.info.Minor) })},
		{"major", "Maj", 3, numberField, "Block device major number.", number(func(*reportObj) uint64 { return dm.Major })},
		{"minor", "Min", 3, numberField, "Block device minor number.", number(func(o *reportObj) uint64 { return uint64(o.info.Minor) })},
		{"open", "Open", 4, numberField, "Number of references to open device, if requested.", number(func(o *reportObj) uint64 { return uint64(o.info.OpenCount) })},
		{"segments", "Targ", 4, numberField, "Number of segments in live table, if present.", number(func(o *reportObj) uint64 { return uint64(o.info.Targets) })},
		{"events", "Event", 6, numberField, "Number of most recent event.", number(func(o *reportObj) uint64 { return uint64(o.info.EventNr) })},
	}},
	{"Mapped Device Relationship Information", "deps_", []*reportField{
		{"device_count", "#Devs", 5, numberField, "Number of devices used by this one.", number(func(o *reportObj) uint64 { return uint64(len(o.node.uses)) })},
	}},
	// devs_used and the reference fields are libdm tree fields (tree_all).
	{"Mapped Device Relationship Information", "tree_", []*reportField{
		{"devs_used", "DevNamesUsed", 16, textField, "List of names of mapped devices used by this one.", text(func(o *reportObj) string { return joinNodes(o.node.uses, nodeName) })},
	}},
	{"Mapped Device Relationship Information", "deps_", []*reportField{
		{"devnos_used", "DevNosUsed", 16, textField, "List of device numbers of devices used by this one.", text(func(o *reportObj) string { return joinNodes(o.node.uses, nodeDev) })},
		{"blkdevs_used", "BlkDevNamesUsed", 16, textField, "List of names of block devices used by this one.", text(func(o *reportObj) string { return joinNodes(o.node.uses, nodeBlk) })},
	}},
	{"Mapped Device Relationship Information", "tree_", []*reportField{
		{"device_ref_count", "#Refs", 5, numberField, "Number of mapped devices referencing this one.", number(func(o *reportObj) uint64 { return uint64(len(o.node.usedBy)) })},
		{"names_using_dev", "RefNames", 8, textField, "List of names of mapped devices using this one.", text(func(o *reportObj) string { return joinNodes(o.node.usedBy, nodeName) })},
		{"devnos_using_dev", "RefDevNos", 9, textField, "List of device numbers of mapped devices using this one.", text(func(o *reportObj) string { return joinNodes(o.node.usedBy, nodeDev) })},
	}},
	splitNameSection,
}

// splitNameSection is the fields of a name's components, the only ones
// splitname reports.
var splitNameSection = reportSection{"Mapped Device Name Components", "splitname_", []*reportField{
	{"subsystem", "Subsys", 6, textField, "Userspace subsystem responsible for this device.", text(func(o *reportObj) string { return o.split.subsystem })},
	{"vg_name", "VG", 4, textField, "LVM Volume Group name.", text(func(o *reportObj) string { return o.split.vg })},
	{"lv_name", "LV", 4, textField, "LVM Logical Volume name.", text(func(o *reportObj) string { return o.split.lv })},
	{"lv_layer", "LVLayer", 7, textField, "LVM device layer.", text(func(o *reportObj) string { return o.split.layer })},
}}

// deviceReportObjs reads what the report needs of infos' devices.
func deviceReportObjs(e *env, infos []dm.Info) ([]*reportObj, error) {
	t, err := buildDepTree(e.reg, e.shownInfo)
	if err != nil {
		return nil, err
	}
	objs := make([]*reportObj, len(infos))
	for i, in := range infos {
		objs[i] = &reportObj{
			info: in, node: t.byDev[devNo(in.Minor)],
			split: splitDeviceName(uuidSubsystem(in.UUID), in.Name), stderr: e.stderr, mangling: e.mangling,
		}
	}
	return objs, nil
}

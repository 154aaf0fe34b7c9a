// Package raid is the raid target (drivers/md/dm-raid.c, v1.15.1 of Linux
// 6.1, with md's raid0, raid1, raid10 and raid456 personalities):
//
//	raid <raid_type> <#raid_params> <chunk_size> [<param>...] <#raid_devs> (<meta_dev|-> <data_dev|->)...
//
// Levels: raid0 (striping), raid1 (mirroring), raid4/raid5 (one parity
// chunk per stripe, placed as md's algorithms place it), raid6 (P and Q,
// the Q syndrome in GF(2^8) as lib/raid6 computes it), raid10 (near, far
// and offset copies). A '-' data device or a member whose I/O fails is
// marked failed ('D'); reads of its chunks are rebuilt from the others.
// Metadata devices hold dm-raid's superblock in sector 0 and md's bitmap
// superblock at 4 KiB; the array's synchronisation (resync, recover,
// check, repair) runs in the background as md's sync thread does.
package raid

import (
	"sync"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Type is the raid target's registration.
var Type = targets.Type{Name: "raid", Version: [3]int{1, 15, 1}, New: New}

// logPrefix starts dm-raid.c's own log lines (its DM_MSG_PREFIX).
const logPrefix = "raid: "

// maxSector is md's MaxSector: "no offset", "in sync".
const maxSector = ^uint64(0)

// maxRaidDevices is MAX_RAID_DEVICES, md's limit.
const maxRaidDevices = 253

// md's raid5/6 algorithms (raid5.h).
const (
	algLeftAsymmetric    = 0
	algRightAsymmetric   = 1
	algLeftSymmetric     = 2
	algRightSymmetric    = 3
	algParity0           = 4
	algParityN           = 5
	algRotZeroRestart    = 8
	algRotNRestart       = 9
	algRotNContinue      = 10
	algLeftAsymmetric6   = 16
	algRightAsymmetric6  = 17
	algLeftSymmetric6    = 18
	algRightSymmetric6   = 19
	algParity0of6        = 20
	algRaid10Default     = 0
	algRaid10Near        = 1
	algRaid10Offset      = 2
	algRaid10Far         = 3
	raid10OffsetBit      = 1 << 16
	raid10UseFarSets     = 1 << 18
	raid10FarCopiesShift = 8
)

// raidType is one entry of dm-raid.c's raid_types: a table name, its md
// level and layout (algorithm), its parity devices and least members.
type raidType struct {
	name                    string
	parityDevs, minimalDevs int
	level, algorithm        int
}

// raidTypes is raid_types in the kernel's order (get_raid_type searches
// it from the end).
var raidTypes = []raidType{
	{"raid0", 0, 2, 0, 0},
	{"raid1", 0, 2, 1, 0},
	{"raid10_far", 0, 2, 10, algRaid10Far},
	{"raid10_offset", 0, 2, 10, algRaid10Offset},
	{"raid10_near", 0, 2, 10, algRaid10Near},
	{"raid10", 0, 2, 10, algRaid10Default},
	{"raid4", 1, 2, 5, algParity0},
	{"raid5_n", 1, 2, 5, algParityN},
	{"raid5_ls", 1, 2, 5, algLeftSymmetric},
	{"raid5_rs", 1, 2, 5, algRightSymmetric},
	{"raid5_la", 1, 2, 5, algLeftAsymmetric},
	{"raid5_ra", 1, 2, 5, algRightAsymmetric},
	{"raid6_zr", 2, 4, 6, algRotZeroRestart},
	{"raid6_nr", 2, 4, 6, algRotNRestart},
	{"raid6_nc", 2, 4, 6, algRotNContinue},
	{"raid6_n_6", 2, 4, 6, algParityN},
	{"raid6_ls_6", 2, 4, 6, algLeftSymmetric6},
	{"raid6_rs_6", 2, 4, 6, algRightSymmetric6},
	{"raid6_la_6", 2, 4, 6, algLeftAsymmetric6},
	{"raid6_ra_6", 2, 4, 6, algRightAsymmetric6},
}

// raidTypeByName is get_raid_type: case-insensitive, from the end.
func raidTypeByName(name string) *raidType {
	for i := len(raidTypes) - 1; i >= 0; i-- {
		if targets.LowerASCII(name) == raidTypes[i].name {
			return &raidTypes[i]
		}
	}
	return nil
}

// raidTypeByLevelLayout is get_raid_type_by_ll.
func raidTypeByLevelLayout(level, layout int) *raidType {
	for i := len(raidTypes) - 1; i >= 0; i-- {
		rt := &raidTypes[i]
		if rt.level == level && (rt.gotRaid10(layout) || rt.algorithm == layout) {
			return rt
		}
	}
	return nil
}

// gotRaid10 is __got_raid10: layout is one of rt's raid10 formats.
func (rt *raidType) gotRaid10(layout int) bool {
	if rt.level != 10 {
		return false
	}
	switch rt.algorithm {
	case algRaid10Default, algRaid10Near:
		return raid10IsNear(layout)
	case algRaid10Offset:
		return raid10IsOffset(layout)
	case algRaid10Far:
		return raid10IsFar(layout)
	}
	return false
}

func raid10NearCopies(layout int) int { return layout & 0xff }
func raid10FarCopies(layout int) int  { return (layout >> raid10FarCopiesShift) & 0xff }
func raid10IsOffset(layout int) bool  { return layout&raid10OffsetBit != 0 }
func raid10IsNear(layout int) bool    { return !raid10IsOffset(layout) && raid10NearCopies(layout) > 1 }
func raid10IsFar(layout int) bool     { return !raid10IsOffset(layout) && raid10FarCopies(layout) > 1 }

// raid10Copies is raid10_md_layout_to_copies.
func raid10Copies(layout int) int { return max(raid10NearCopies(layout), raid10FarCopies(layout)) }

// raid10Format is raid10_md_layout_to_format.
func raid10Format(layout int) string {
	switch {
	case raid10IsOffset(layout):
		return "offset"
	case raid10NearCopies(layout) > 1:
		return "near"
	case raid10FarCopies(layout) > 1:
		return "far"
	}
	return "unknown"
}

// member is one raid device: struct raid_dev with its md_rdev's state.
type member struct {
	meta, data     targets.Dev // nil for '-'; data seen from the data offset
	raw            targets.Dev // the data device itself (reshapes address it)
	faulty         bool        // md's Faulty: failed, no I/O goes to it
	inSync         bool        // md's In_sync
	recoveryOffset uint64      // sectors of the member rebuilt (maxSector: all)
	writeMostly    bool
	rebuild        bool // named by a rebuild parameter
	firstUse       bool // its superblock was created by this table
	waiting        bool // a raid1 leg delta_disks added: written, recovered after the next load (legs.go)
}

// tableMembers is the table's devices in its order: the array's members,
// then those a reshape removed. mu held.
func (r *Raid) tableMembers() []*member {
	if len(r.removed) == 0 {
		return r.members
	}
	return append(append([]*member(nil), r.members...), r.removed...)
}

// tableMember is the table's device i (tableMembers). mu held.
func (r *Raid) tableMember(i int) *member {
	if i < len(r.members) {
		return r.members[i]
	}
	return r.removed[i-len(r.members)]
}

// usable reports whether the member can take I/O.
func (m *member) usable() bool { return m.data != nil && !m.faulty }

// Raid is one raid set (struct raid_set with its mddev).
//
// Concurrency: mu guards the members' state, the sync state and the
// superblock fields below it. ioMu is held shared by every data I/O and
// exclusively by a sync step, so a step sees no write in flight in the
// array. stripes serialises the read-modify-write of raid4/5/6 rows.
type Raid struct {
	ctx *targets.Context
	rt  *raidType

	// the table's parameters
	flags            ctrFlags
	chunkSectors     uint64
	layout           int
	raid10Copies     int
	regionSectors    uint64 // the bitmap's chunk (region) size
	regionRequested  uint64 // region_size as given (0: chosen)
	daemonSleepMs    int
	minRecoveryRate  int
	maxRecoveryRate  int
	maxWriteBehindKB int
	stripeCache      int
	dataOffset       int
	deltaDisks       int
	journal          targets.Dev
	journalWriteBack bool
	jr               *journal // the log on journal (nil without one)
	wb               *wbCache // journal_mode writeback's cache (nil without)
	members          []*member
	removed          []*member // the table's members past a reshape's new count, once it ended (reshape.go)
	devSectors       uint64    // sectors used of each member
	arraySectors     uint64
	dataStripes      int
	rebuilding       bool // building a table restored in a later process
	discards         bool // discards pass to the members (raid0/1/10)
	geo10            raid10Geometry

	// what md holds beside the table (reshape.go): the members' data
	// offset (rdev->data_offset) and used sectors (rdev->sectors), the
	// array's size as md serves it, and the reshape in progress (nil
	// without one)
	offSectors     uint64
	rdevSectors    uint64
	mdArraySectors uint64
	rs             *reshape
	asked          *geometry // the table's own layout and chunk size
	shownType      *raidType // the type the table line names, when not the table's

	ioMu    sync.RWMutex
	stripes [stripeLocks]sync.Mutex

	mu   sync.Mutex
	cond *sync.Cond
	syncState
	sb superState
}

// stripeLocks is how many row locks stripes holds (rows hash onto them).
const stripeLocks = 256

// event raises the table event.
func (r *Raid) event() {
	if r.ctx.Event != nil {
		r.ctx.Event()
	}
}

// logf logs one of dm-raid's lines; a table rebuilt in a later process
// logs nothing while it is built (the kernel built it once).
func (r *Raid) logf(format string, args ...any) {
	if !r.rebuilding {
		r.ctx.Logf(logPrefix+format, args...)
	}
}

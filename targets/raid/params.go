package raid

import (
	"math/bits"
	"strconv"
	"strings"
)

// ctrFlags is raid_set's ctr_flags: which optional parameters the table
// gave, bit i being __CTR_FLAG_* i (the order the table line is echoed in
// does not follow these bits: see Table).
type ctrFlags uint32

const (
	flagSync ctrFlags = 1 << iota
	flagNosync
	flagRebuild
	flagDaemonSleep
	flagMinRecoveryRate
	flagMaxRecoveryRate
	flagMaxWriteBehind
	flagWriteMostly
	flagStripeCache
	flagRegionSize
	flagRaid10Copies
	flagRaid10Format
	flagDeltaDisks
	flagDataOffset
	flagRaid10UseNearSets
	flagJournalDev
	flagJournalMode
)

// The parameters each level accepts (RAID*_VALID_FLAGS).
const (
	raid0Valid  = flagDataOffset
	raid1Valid  = flagSync | flagNosync | flagRebuild | flagWriteMostly | flagDaemonSleep | flagMinRecoveryRate | flagMaxRecoveryRate | flagMaxWriteBehind | flagRegionSize | flagDeltaDisks | flagDataOffset
	raid10Valid = flagSync | flagNosync | flagRebuild | flagDaemonSleep | flagMinRecoveryRate | flagMaxRecoveryRate | flagRegionSize | flagRaid10Copies | flagRaid10Format | flagDeltaDisks | flagDataOffset | flagRaid10UseNearSets
	raid45Valid = flagSync | flagNosync | flagRebuild | flagDaemonSleep | flagMinRecoveryRate | flagMaxRecoveryRate | flagStripeCache | flagRegionSize | flagDeltaDisks | flagDataOffset | flagJournalDev | flagJournalMode
	raid6Valid  = raid45Valid &^ flagNosync
)

// validFlags is __valid_flags for the table's raid type.
func (rt *raidType) validFlags() ctrFlags {
	switch {
	case rt.level == 0:
		return raid0Valid
	case rt.level == 1:
		return raid1Valid
	case rt.level == 10:
		return raid10Valid
	case rt.level == 5 && rt.parityDevs == 1:
		return raid45Valid
	case rt.level == 6:
		return raid6Valid
	}
	return 0
}

// kstrtoint is the kernel's kstrtoint(s, 10): an optional sign, decimal
// digits, an optional trailing newline, a value that fits an int.
func kstrtoint(s string) (int, bool) {
	s = strings.TrimSuffix(s, "\n")
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	} else {
		s = strings.TrimPrefix(s, "+")
	}
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		if v > 1<<31 {
			return 0, false
		}
		return -int(v), true
	}
	if v > 1<<31-1 {
		return 0, false
	}
	return int(v), true
}

// roundupPow2 is roundup_pow_of_two.
func roundupPow2(v uint64) uint64 {
	if v <= 1 {
		return 1
	}
	return 1 << bits.Len64(v-1)
}

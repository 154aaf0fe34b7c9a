package thinpool

import (
	"strconv"

	"github.com/gdmsetup/gdmsetup/targets"
)

// MaxDevID is the largest thin device id (24 bits).
const MaxDevID = 1<<24 - 1

func invalid(msg string) error { return targets.Invalid(msg) }

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }

// ParseDevID reads a thin device id (read_dev_id): a decimal up to MaxDevID.
func ParseDevID(s string) (uint64, bool) {
	v, ok := targets.ParseUint(s, 64)
	return v, ok && v <= MaxDevID
}

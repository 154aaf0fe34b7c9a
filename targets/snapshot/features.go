package snapshot

import (
	"github.com/gdmsetup/gdmsetup/targets"
)

// features are the optional words after a snapshot's four arguments.
type features struct {
	// discardZeroesCow: a discard of a whole chunk with an exception
	// zeroes the chunk on the COW device, a partial one is passed to the
	// COW device; a discard elsewhere does nothing.
	discardZeroesCow bool
	// discardPassdownOrigin: discards also go to the origin device.
	discardPassdownOrigin bool
}

// parse is parse_snapshot_features: a group of at most 2 words; words
// after the group are ignored.
func (f *features) parse(as *targets.ArgSet) error {
	if as.Len() == 0 {
		return nil
	}
	n, err := as.ReadArgGroup(0, 2, "Invalid number of feature arguments")
	if err != nil {
		return err
	}
	for ; n > 0 && err == nil; n-- {
		w, _ := as.Shift()
		switch targets.LowerASCII(w) {
		case "discard_zeroes_cow":
			f.discardZeroesCow = true
		case "discard_passdown_origin":
			f.discardPassdownOrigin = true
		default:
			err = targets.Invalid("Unrecognised feature requested")
		}
	}
	if !f.discardZeroesCow && f.discardPassdownOrigin {
		err = targets.Invalid("discard_passdown_origin feature depends on discard_zeroes_cow")
	}
	return err
}

// String is the table's feature part: "" or " N word...".
func (f features) String() string {
	var words []string
	if f.discardZeroesCow {
		words = append(words, "discard_zeroes_cow")
	}
	if f.discardPassdownOrigin {
		words = append(words, "discard_passdown_origin")
	}
	if len(words) == 0 {
		return ""
	}
	s := " " + string(rune('0'+len(words)))
	for _, w := range words {
		s += " " + w
	}
	return s
}

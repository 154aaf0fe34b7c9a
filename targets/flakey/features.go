package flakey

import (
	"fmt"
	"math"
	"strings"

	"github.com/gdmsetup/gdmsetup/targets"
)

// features are a flakey table's feature arguments: what it does while down.
type features struct {
	dropWrites, errorWrites bool
	// corruptByte is corrupt_bio_byte's Nth byte, counted from 1; 0 when
	// the feature is not given.
	corruptByte uint32
	// corruptWrite is its direction: w (writes, before they are written),
	// else r (reads, after they are read).
	corruptWrite bool
	corruptValue byte
	// corruptFlags is the mask a bio's operation must contain (see opf).
	corruptFlags uint32
}

// parse is parse_features: the optional group `<#args> <args>...` with the
// kernel's messages in the kernel's order. Words after the group are left
// unread, as the kernel leaves them.
func (ft *features) parse(as *targets.ArgSet) error {
	if as.Len() == 0 {
		return nil
	}
	n, err := as.ReadArgGroup(0, 6, "Invalid number of feature args")
	if err != nil {
		return err
	}
	// argc is the kernel's unsigned count: corrupt_bio_byte's parameters
	// are read past the group's end when it is short, and the count wraps
	// (the loop then runs out of words).
	argc := uint32(n)
	for argc != 0 {
		name, ok := as.Shift()
		argc--
		if !ok {
			return targets.Invalid("Insufficient feature arguments")
		}
		switch {
		case targets.LowerASCII(name) == "drop_writes":
			if ft.dropWrites {
				return targets.Invalid("Feature drop_writes duplicated")
			}
			ft.dropWrites = true
			if ft.errorWrites {
				return targets.Invalid("Feature drop_writes conflicts with feature error_writes")
			}
		case targets.LowerASCII(name) == "error_writes":
			if ft.errorWrites {
				return targets.Invalid("Feature error_writes duplicated")
			}
			ft.errorWrites = true
			if ft.dropWrites {
				return targets.Invalid("Feature error_writes conflicts with feature drop_writes")
			}
		case targets.LowerASCII(name) == "corrupt_bio_byte":
			if argc == 0 {
				return targets.Invalid("Feature corrupt_bio_byte requires parameters")
			}
			if err := ft.parseCorrupt(as); err != nil {
				return err
			}
			argc -= 4
		default:
			return targets.Invalid("Unrecognised flakey feature requested")
		}
	}
	if ft.dropWrites && ft.corruptWrite {
		return targets.Invalid("drop_writes is incompatible with corrupt_bio_byte with the WRITE flag set")
	}
	if ft.errorWrites && ft.corruptWrite {
		return targets.Invalid("error_writes is incompatible with corrupt_bio_byte with the WRITE flag set")
	}
	return nil
}

// parseCorrupt reads corrupt_bio_byte's four parameters: <Nth_byte> <r|w>
// <value> <bio_flags>.
func (ft *features) parseCorrupt(as *targets.ArgSet) error {
	nth, err := as.ReadArg(1, math.MaxUint32, "Invalid corrupt bio byte")
	if err != nil {
		return err
	}
	ft.corruptByte = uint32(nth)
	dir, _ := as.Shift()
	switch {
	case targets.LowerASCII(dir) == "w":
		ft.corruptWrite = true
	case targets.LowerASCII(dir) == "r":
		ft.corruptWrite = false
	default:
		return targets.Invalid("Invalid corrupt bio direction (r or w)")
	}
	value, err := as.ReadArg(0, 255, "Invalid corrupt value to write into bio byte (0-255)")
	if err != nil {
		return err
	}
	ft.corruptValue = byte(value)
	flags, err := as.ReadArg(0, math.MaxUint32, "Invalid corrupt bio flags mask")
	if err != nil {
		return err
	}
	ft.corruptFlags = uint32(flags)
	return nil
}

// String is the features' part of the table line as flakey_status prints
// it, each item followed by a space: the count of feature words, then
// drop_writes or error_writes, then corrupt_bio_byte and its parameters.
func (ft features) String() string {
	var b strings.Builder
	n := 0
	if ft.dropWrites || ft.errorWrites {
		n++
	}
	if ft.corruptByte > 0 {
		n += 5
	}
	fmt.Fprintf(&b, "%d ", n)
	switch {
	case ft.dropWrites:
		b.WriteString("drop_writes ")
	case ft.errorWrites:
		b.WriteString("error_writes ")
	}
	if ft.corruptByte > 0 {
		dir := 'r'
		if ft.corruptWrite {
			dir = 'w'
		}
		fmt.Fprintf(&b, "corrupt_bio_byte %d %c %d %d ", ft.corruptByte, dir, ft.corruptValue, ft.corruptFlags)
	}
	return b.String()
}

package thinpool

import (
	"strings"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Features are a pool's feature arguments (pool_features in dm-thin.c).
type Features struct {
	ZeroNewBlocks   bool
	DiscardEnabled  bool
	DiscardPassdown bool
	ReadOnly        bool
	ErrorIfNoSpace  bool
}

// defaultFeatures is pool_features_init: zeroing, discards and passdown on.
func defaultFeatures() Features {
	return Features{ZeroNewBlocks: true, DiscardEnabled: true, DiscardPassdown: true}
}

// maxFeatureArgs is the largest feature count the kernel accepts.
const maxFeatureArgs = 4

// parseFeatures reads `[<#features> <feature>...]` with the kernel's errors.
func parseFeatures(args []string, f *Features) error {
	if len(args) == 0 {
		return nil
	}
	as := &targets.ArgSet{Args: args}
	n, err := as.ReadArgGroup(0, maxFeatureArgs, "Invalid number of pool feature arguments")
	if err != nil {
		return err
	}
	for _, a := range as.Args[:n] {
		switch targets.LowerASCII(a) {
		case "skip_block_zeroing":
			f.ZeroNewBlocks = false
		case "ignore_discard":
			f.DiscardEnabled = false
		case "no_discard_passdown":
			f.DiscardPassdown = false
		case "read_only":
			f.ReadOnly = true
		case "error_if_no_space":
			f.ErrorIfNoSpace = true
		default:
			return invalid("Unrecognised pool feature requested")
		}
	}
	return nil
}

// String is emit_flags: the count then each feature followed by a space,
// in the kernel's fixed order.
func (f Features) String() string {
	var names []string
	if !f.ZeroNewBlocks {
		names = append(names, "skip_block_zeroing")
	}
	if !f.DiscardEnabled {
		names = append(names, "ignore_discard")
	}
	if !f.DiscardPassdown {
		names = append(names, "no_discard_passdown")
	}
	if f.ReadOnly {
		names = append(names, "read_only")
	}
	if f.ErrorIfNoSpace {
		names = append(names, "error_if_no_space")
	}
	var b strings.Builder
	b.WriteString(itoa(uint64(len(names))))
	b.WriteByte(' ')
	for _, n := range names {
		b.WriteString(n)
		b.WriteByte(' ')
	}
	return b.String()
}

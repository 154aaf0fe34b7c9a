package verity

import (
	"strings"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// The optional arguments' names.
const (
	optLogging      = "ignore_corruption"
	optRestart      = "restart_on_corruption"
	optPanic        = "panic_on_corruption"
	optIgnoreZeroes = "ignore_zero_blocks"
	optAtMostOnce   = "check_at_most_once"
	optTasklet      = "try_verify_in_tasklet"
	optSigKey       = "root_hash_sig_key_desc"
)

// modeNames are the corruption modes as tables name them.
var modeNames = map[mode]string{modeLogging: optLogging, modeRestart: optRestart, modePanic: optPanic}

// maxOptArgs is DM_VERITY_OPTS_MAX with FEC and root hash signatures
// built in (Debian's 6.1): 4 + 8 + 2.
const maxOptArgs = 14

// maxAtMostOnceBlocks is the largest device check_at_most_once takes (its
// bitset counts blocks in an int).
const maxAtMostOnceBlocks = 1<<31 - 1

// parseOptArgs is verity_parse_opt_args. The constructor calls it twice:
// first with onlyModifiers, before the required arguments, when only
// try_verify_in_tasklet is taken and every other word skipped (an
// option's value too, as a word of its own); then for all of them.
func (v *Verity) parseOptArgs(ctx *targets.Context, args []string, onlyModifiers bool) error {
	as := targets.ArgSet{Args: args}
	argc, err := as.ReadArgGroup(0, maxOptArgs, "Invalid number of feature args")
	if err != nil {
		return err
	}
	for argc > 0 {
		name, _ := as.Shift()
		argc--
		switch {
		case isMode(name):
			if onlyModifiers {
				continue
			}
			if v.mode != modeEIO {
				return targets.Invalid("Conflicting error handling parameters")
			}
			v.mode = modeOf(name)
		case strings.EqualFold(name, optIgnoreZeroes):
			if onlyModifiers {
				continue
			}
			zero := make([]byte, 1<<v.dataBlockBits)
			if v.zeroDigest, err = v.digest(nil, zero); err != nil {
				return targets.Errorf(errnoOf(err), "Cannot allocate zero digest")
			}
		case strings.EqualFold(name, optAtMostOnce):
			if onlyModifiers {
				continue
			}
			if v.dataBlocks > maxAtMostOnceBlocks {
				return targets.Errorf(syscall.E2BIG, "device too large to use check_at_most_once")
			}
			v.validated = newBlockSet(v.dataBlocks)
		case strings.EqualFold(name, optTasklet):
			v.useTasklet = true
		case isFECOpt(name):
			if onlyModifiers {
				continue
			}
			if err := v.parseFECOpt(ctx, &as, &argc, name); err != nil {
				return err
			}
		case strings.EqualFold(name, optSigKey):
			if onlyModifiers {
				continue
			}
			return v.parseSigKey(&as, &argc)
		default:
			if onlyModifiers {
				continue
			}
			v.logf("verity: Unrecognized verity feature request: %s", name)
			return targets.Invalid("Unrecognized verity feature request")
		}
	}
	return nil
}

func isMode(name string) bool {
	return strings.EqualFold(name, optLogging) || strings.EqualFold(name, optRestart) || strings.EqualFold(name, optPanic)
}

func modeOf(name string) mode {
	for m, n := range modeNames {
		if strings.EqualFold(name, n) {
			return m
		}
	}
	return modeEIO
}

// sigErrPrefix is what dm-verity-verify-sig.c puts before its errors.
const sigErrPrefix = "DM Verity Sig Verification "

// parseSigKey is verity_verify_sig_parse_opt_args: the key's description
// is taken, then the signature is looked up as a "user" key in the kernel
// keyring, which a user-space device-mapper has no access to: ENOKEY, the
// kernel's answer when the key is not there (and verifying a signature
// needs the kernel's trusted keys anyway).
func (v *Verity) parseSigKey(as *targets.ArgSet, argc *int) error {
	if *argc == 0 {
		return targets.Invalid(sigErrPrefix + "Signature key not specified")
	}
	v.sigKeyDesc, _ = as.Shift()
	*argc--
	return targets.Errorf(syscall.ENOKEY, sigErrPrefix+"Invalid key specified")
}

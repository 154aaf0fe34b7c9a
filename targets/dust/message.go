package dust

import (
	"fmt"
	"math"
	"strings"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Message is dust_message. With one word (any case): enable and disable
// (read failures on bad blocks), countbadblocks, clearbadblocks,
// listbadblocks (replies), quiet (toggles the list's log lines). With two:
// addbadblock, removebadblock or queryblock BLOCK; with three: addbadblock
// BLOCK WRITE_FAILS. BLOCK counts blksz blocks from the device's start and
// may be up to its size in blocks (inclusive, as the kernel's check).
// Errors are EINVAL with the kernel's log line, or none where the kernel
// gives none (a number that does not parse).
func (d *Dust) Message(args []string) (string, error) {
	verb := args[0]
	is := func(name string) bool { return strings.EqualFold(verb, name) }
	invalid := fmt.Errorf("dust message %q: %w", strings.Join(args, " "), syscall.EINVAL)
	switch len(args) {
	case 1:
		switch {
		case is("addbadblock"), is("removebadblock"), is("queryblock"):
			d.logf("dust: %s requires an additional argument", verb)
			return "", invalid
		case is("disable"), is("enable"):
			on := is("enable")
			if on {
				d.logf("dust: enabling read failures on bad sectors")
			} else {
				d.logf("dust: disabling read failures on bad sectors")
			}
			d.mu.Lock()
			d.enabled = on
			d.mu.Unlock()
			return "", nil
		case is("countbadblocks"):
			return d.countBlocks(), nil
		case is("clearbadblocks"):
			return d.clearBlocks(), nil
		case is("quiet"):
			d.mu.Lock()
			d.quiet = !d.quiet
			d.mu.Unlock()
			return "", nil
		case is("listbadblocks"):
			return d.listBlocks(), nil
		}
	case 2, 3:
		block, ok := targets.ScanUint(args[1], 64)
		if !ok {
			return "", invalid
		}
		var writeFails uint64
		if len(args) == 3 {
			if writeFails, ok = targets.ScanUint(args[2], 32); !ok {
				return "", invalid
			}
			if writeFails > math.MaxUint8 {
				d.logf("dust: selected write fail count out of range")
				return "", invalid
			}
		}
		if block > uint64(d.dev.SizeBytes())/targets.SectorSize>>d.blockShift {
			d.logf("dust: selected block value out of range")
			return "", invalid
		}
		switch {
		case is("addbadblock"):
			return "", d.addBlock(block, uint8(writeFails))
		case len(args) == 3:
		case is("removebadblock"):
			return "", d.removeBlock(block)
		case is("queryblock"):
			return d.queryBlock(block), nil
		}
	default:
		d.logf("dust: invalid number of arguments '%d'", len(args))
		return "", invalid
	}
	d.logf("dust: unrecognized message '%s' received", verb)
	return "", invalid
}

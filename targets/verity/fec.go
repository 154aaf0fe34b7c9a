package verity

import (
	"fmt"
	"strings"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// The forward error correction options (dm-verity-fec.h).
const (
	optFECDev    = "use_fec_from_device"
	optFECBlocks = "fec_blocks"
	optFECStart  = "fec_start"
	optFECRoots  = "fec_roots"
)

// Reed-Solomon code sizes: RS(255, 255-roots), with 2 to 24 roots.
const (
	fecRSM    = 255
	fecMaxRSN = 253
	fecMinRSN = 231
)

// fec is the forward error correction a table names (struct
// dm_verity_fec's arguments): Reed-Solomon parity of the data and hash
// blocks on dev from startBlock on. Enabled only with a device; the other
// options alone are ignored, as the kernel's. It does not change once
// built.
type fec struct {
	dev        targets.Dev
	blocks     uint64 // data, hash and metadata blocks the parity covers
	startBlock uint64 // in data blocks
	roots      int
	rounds     uint64
	codec      *rsCodec // RS(255, 255-roots), built by fecCtr
}

func isFECOpt(name string) bool {
	for _, o := range []string{optFECDev, optFECBlocks, optFECStart, optFECRoots} {
		if strings.EqualFold(name, o) {
			return true
		}
	}
	return false
}

// parseFECOpt is verity_fec_parse_opt_args: the option's value is the
// next word.
func (v *Verity) parseFECOpt(ctx *targets.Context, as *targets.ArgSet, argc *int, name string) error {
	if *argc == 0 {
		return targets.Invalid("FEC feature arguments require a value")
	}
	value, _ := as.Shift()
	*argc--
	var ok bool
	switch {
	case strings.EqualFold(name, optFECDev):
		dev, err := ctx.Open(value)
		if err != nil {
			return targets.Errorf(targets.OpenErrno(err), "FEC device lookup failed")
		}
		v.fec.dev = dev
	case strings.EqualFold(name, optFECBlocks):
		if v.fec.blocks, ok = blockCount(value, v.dataBlockBits); !ok {
			return targets.Invalid("Invalid " + optFECBlocks)
		}
	case strings.EqualFold(name, optFECStart):
		if v.fec.startBlock, ok = blockCount(value, v.dataBlockBits); !ok {
			return targets.Invalid("Invalid " + optFECStart)
		}
	default:
		// sscanf "%hhu": the value wraps at 8 bits
		n, ok := targets.ScanUint(value, 8)
		if !ok || n < fecRSM-fecMaxRSN || n > fecRSM-fecMinRSN {
			return targets.Invalid("Invalid " + optFECRoots)
		}
		v.fec.roots = int(n)
	}
	return nil
}

// fecCtr is verity_fec_ctr's checks of the options against the devices.
func (v *Verity) fecCtr() error {
	f := v.fec
	if f.dev == nil {
		return nil
	}
	if v.dataBlockBits != v.hashBlockBits {
		return targets.Invalid("Block sizes must match to use FEC")
	}
	if f.roots == 0 {
		return targets.Invalid("Missing " + optFECRoots)
	}
	if f.blocks == 0 {
		return targets.Invalid("Missing " + optFECBlocks)
	}
	rsn := uint64(fecRSM - f.roots)
	f.rounds = f.blocks / rsn
	if f.blocks%rsn != 0 {
		f.rounds++
	}
	hashBlocks := v.tree.endBlock - v.hashStartBlock
	if f.blocks < v.dataBlocks+hashBlocks || f.rounds == 0 {
		return targets.Invalid("Invalid " + optFECBlocks)
	}
	if v.hashDevBlocks() < v.hashStartBlock+f.blocks-v.dataBlocks {
		return targets.Errorf(syscall.E2BIG, "Hash device is too small for "+optFECBlocks)
	}
	startSectors := f.startBlock << (v.dataBlockBits - 9)
	devSectors := uint64(f.dev.SizeBytes()) / targets.SectorSize
	if devSectors < startSectors || (devSectors-startSectors)>>(v.dataBlockBits-9) < f.rounds*uint64(f.roots) {
		return targets.Errorf(syscall.E2BIG, "FEC device is too small")
	}
	if uint64(v.dataDev.SizeBytes())>>v.dataBlockBits < v.dataBlocks {
		return targets.Errorf(syscall.E2BIG, "Data device is too small")
	}
	var err error
	f.codec, err = newRSCodec(f.roots)
	return err
}

// tableArgs is verity_fec_status_table: the four options with their
// values, when enabled.
func (f *fec) tableArgs() []string {
	if f.dev == nil {
		return nil
	}
	return []string{optFECDev, f.dev.Name(), optFECBlocks, fmt.Sprint(f.blocks),
		optFECStart, fmt.Sprint(f.startBlock), optFECRoots, fmt.Sprint(f.roots)}
}

package era

import (
	"errors"
	"syscall"

	"github.com/gdmsetup/gdmsetup/errno"
	"github.com/gdmsetup/gdmsetup/targets"
)

// New is era_ctr: <metadata dev> <origin dev> <block size in sectors>.
// Every failure is EINVAL but the metadata's own (its errno), in the
// kernel's order: count, metadata device, origin, block size, metadata.
func New(ctx *targets.Context, args []string) (targets.Target, error) {
	if len(args) != 3 {
		return nil, targets.Invalid("Invalid argument count")
	}
	e := &Era{ctx: ctx, lenSectors: ctx.Len}
	var err error
	if e.meta, err = ctx.Open(args[0]); err != nil {
		return nil, targets.Invalid("Error opening metadata device")
	}
	if e.origin, err = ctx.Open(args[1]); err != nil {
		return nil, targets.Invalid("Error opening data device")
	}
	n, ok := targets.ScanUint(args[2], 32)
	if !ok {
		return nil, targets.Invalid("Error parsing block size")
	}
	if n == 0 || n%minBlockSecs != 0 {
		return nil, targets.Invalid("Invalid block size")
	}
	e.blockSectors = uint32(n)
	live := ctx.Restored && !ctx.Inactive
	e.md, err = openMetadata(e.meta, e.blockSectors, !ctx.Restored, ctx.Logf)
	if err != nil {
		en := errno.Of(err)
		if !errors.As(err, new(syscall.Errno)) {
			en = syscall.EIO
		}
		return nil, targets.Errorf(en, "Error reading metadata")
	}
	if live {
		if err := e.restore(ctx.Saved, ctx.Suspended); err != nil {
			return nil, targets.Errorf(errno.Of(err), "Error reading metadata")
		}
		return e, nil
	}
	e.fresh = ctx.Inactive
	e.snapshot = e.state()
	return e, nil
}

package clone

import (
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Message handles enable_hydration, disable_hydration (extra words
// ignored), hydration_threshold N and hydration_batch_size N. Anything else
// fails with EINVAL; only an unknown two-word message is logged, as in
// clone_message.
func (c *Clone) Message(args []string) (string, error) {
	if len(args) == 0 {
		return "", syscall.EINVAL
	}
	switch targets.LowerASCII(args[0]) {
	case "enable_hydration", "disable_hydration":
		c.mu.Lock()
		c.cur.Disabled = targets.LowerASCII(args[0]) == "disable_hydration"
		c.cond.Broadcast()
		c.mu.Unlock()
		return "", nil
	}
	if len(args) != 2 {
		return "", syscall.EINVAL
	}
	var dst *uint32
	switch targets.LowerASCII(args[0]) {
	case "hydration_threshold":
		dst = &c.cur.Threshold
	case "hydration_batch_size":
		dst = &c.cur.Batch
	default:
		c.ctx.Logf("clone: %s: Unsupported message `%s'", c.ctx.DevName, args[0])
		return "", syscall.EINVAL
	}
	v, ok := targets.ParseUint(args[1], 32)
	if !ok {
		return "", syscall.EINVAL
	}
	c.mu.Lock()
	*dst = uint32(v)
	c.cond.Broadcast()
	c.mu.Unlock()
	return "", nil
}

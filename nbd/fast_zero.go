package nbd

import (
	"errors"
	"fmt"
	"syscall"
)

// FastZeroWriter is implemented by exports that know when zeroing a range costs less than
// writing zeroes over it, for NBD_CMD_FLAG_FAST_ZERO: qemu-img convert and nbdcopy send it to
// learn whether pre-zeroing a target is worth it.
type FastZeroWriter interface {
	// WriteZeroesFast zeroes the range as ZeroWriter.WriteZeroes does (mayTrim allows
	// deallocating it) when that takes less time than writing zeroes would, and otherwise
	// returns, without writing, an error matching errors.ErrUnsupported. Which ranges are
	// fast is the export's to say in its doc comment.
	WriteZeroesFast(offBytes, lenBytes int64, mayTrim bool) error
}

// writeZeroesFast serves WRITE_ZEROES with NBD_CMD_FLAG_FAST_ZERO. An export without
// FastZeroWriter can only zero by being sent zero buffers, so it refuses at once; any refusal
// (an error matching errors.ErrUnsupported) reaches the client as NBD_ENOTSUP.
func (c *conn) writeZeroesFast(offBytes, lenBytes int64, mayTrim bool) error {
	fz, ok := c.exp.(FastZeroWriter)
	if !ok {
		return fmt.Errorf("fast zero %d+%d: the export zeroes only by writing zeroes: %w", offBytes, lenBytes, syscall.EOPNOTSUPP)
	}
	err := fz.WriteZeroesFast(offBytes, lenBytes, mayTrim)
	if errors.Is(err, errors.ErrUnsupported) && !errors.Is(err, syscall.EOPNOTSUPP) {
		return fmt.Errorf("fast zero %d+%d: %w (%w)", offBytes, lenBytes, syscall.EOPNOTSUPP, err)
	}
	return err
}

// fastZeroRefused reports whether err, the error of a request with cmdFlags, is a FAST_ZERO
// refusal: the protocol's expected answer for a zeroing that would be slow, not a failure
// worth logging.
func fastZeroRefused(cmdFlags uint16, err error) bool {
	return cmdFlags&cmdFlagFastZero != 0 && errnoOf(err) == errNotSup
}

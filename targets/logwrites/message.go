package logwrites

import (
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Message is log_writes_message: `mark <text>` (the word in any case) logs
// a mark at once, its text cut to what fits its entry's sector; anything
// else is refused with EINVAL and the kernel's warning. A mark sent while
// logging is stopped is accepted and dropped.
func (l *LogWrites) Message(args []string) (string, error) {
	if len(args) != 2 {
		l.logf("log-writes: Invalid log-writes message arguments, expect 2 arguments, got %d", len(args))
		return "", syscall.EINVAL
	}
	if targets.LowerASCII(args[0]) != "mark" {
		l.logf("log-writes: Unrecognised log writes target message received: %s", args[0])
		return "", syscall.EINVAL
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.logBlock(markBlock(args[1]))
	return "", nil
}

package cache

import (
	"strings"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Message is cache_message: `invalidate_cblocks <range>...` (passthrough
// only) or `<key> <value>` (migration_threshold, or the policy's).
func (c *Cache) Message(args []string) (string, error) {
	c.wakerIfDue()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(args) == 0 {
		return "", syscall.EINVAL
	}
	if c.st.Mode >= modeReadOnly {
		c.logf("%s: unable to service cache target messages in READ_ONLY or FAIL mode", c.devName())
		return "", syscall.EOPNOTSUPP
	}
	if strings.EqualFold(args[0], "invalidate_cblocks") {
		return "", c.invalidateCblocks(args[1:])
	}
	if len(args) != 2 {
		return "", syscall.EINVAL
	}
	return "", c.setConfigValue(args[0], args[1], c.ctx.Logf)
}

// invalidateCblocks is process_invalidate_cblocks_message: each range
// parsed, checked and invalidated in turn; the first bad one stops it
// (those before it stay invalidated).
func (c *Cache) invalidateCblocks(ranges []string) error {
	dev := c.devName()
	if !c.passthrough() {
		c.logf("%s: cache has to be in passthrough mode for invalidation", dev)
		return syscall.EPERM
	}
	for _, r := range ranges {
		b, e, ok := parseCblockRange(r)
		if !ok {
			c.logf("%s: invalid cblock range '%s'", dev, r)
			return syscall.EINVAL
		}
		n := c.st.CacheSize
		switch {
		case b >= n:
			c.logf("%s: begin cblock out of range: %d >= %d", dev, b, n)
			return syscall.EINVAL
		case e > n:
			c.logf("%s: end cblock out of range: %d > %d", dev, e, n)
			return syscall.EINVAL
		case b >= e:
			c.logf("%s: invalid cblock range: %d >= %d", dev, b, e)
			return syscall.EINVAL
		}
		for ; b < e; b++ {
			if err := c.invalidateCblock(b); err != nil {
				return err
			}
		}
	}
	return nil
}

// parseCblockRange is parse_cblock_range: "B-E" (E excluded) or "B",
// read as sscanf's %llu reads (an optional sign, then digits).
func parseCblockRange(s string) (begin, end uint64, ok bool) {
	if i := strings.IndexByte(s, '-'); i > 0 {
		b, okB := scanULL(s[:i])
		e, okE := scanULL(s[i+1:])
		if okB && okE {
			return b, e, true
		}
	}
	b, okB := scanULL(s)
	if !okB {
		return 0, 0, false
	}
	return b, b + 1, true
}

// scanULL is sscanf("%llu%c") wanting exactly one conversion: digits only
// (after an optional '+' or '-', which negates modulo 2^64), nothing after.
func scanULL(s string) (uint64, bool) {
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	v, ok := targets.ScanUint(s, 64)
	if neg {
		v = -v
	}
	return v, ok
}

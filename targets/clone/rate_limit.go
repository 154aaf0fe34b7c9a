package clone

import (
	"sync"
	"time"
)

// The kernel's default printk rate limit (DEFAULT_RATELIMIT_INTERVAL,
// DEFAULT_RATELIMIT_BURST), which DMERR_LIMIT uses.
const (
	rateLimitInterval = 5 * time.Second
	rateLimitBurst    = 10
)

// rateLimit lets rateLimitBurst events through per rateLimitInterval, the
// interval starting at the first event after the previous one ended
// (___ratelimit). Its mutex guards its fields.
type rateLimit struct {
	mu      sync.Mutex
	begin   time.Time
	printed int
}

// allow reports whether an event at now may be logged.
func (l *rateLimit) allow(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.begin.IsZero() || now.Sub(l.begin) >= rateLimitInterval {
		l.begin, l.printed = now, 0
	}
	if l.printed >= rateLimitBurst {
		return false
	}
	l.printed++
	return true
}

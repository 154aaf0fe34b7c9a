package targets

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

// RateLimit lets rateLimitBurst events through per rateLimitInterval, the
// interval starting at the first event after the previous one ended
// (___ratelimit): a DMERR_LIMIT call site has one. Its mutex guards its
// fields; the zero value is ready.
type RateLimit struct {
	mu      sync.Mutex
	begin   time.Time
	printed int
}

// Allow reports whether an event at now may be logged.
func (l *RateLimit) Allow(now time.Time) bool {
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

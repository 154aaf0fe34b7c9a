package verity

import "github.com/gdmsetup/gdmsetup/targets"

// ResetRateLimits starts the DMERR_LIMIT call sites' intervals over, so
// that a test's lines are logged whatever tests ran before it.
func ResetRateLimits() {
	for _, l := range []*targets.RateLimit{&unalignedLimit, &outOfRangeLimit, &corruptedLimit,
		&fecCorrectedLimit, &fecFailedLimit, &fecFailedEraLimit, &fecReadFailedLimit} {
		*l = targets.RateLimit{}
	}
}

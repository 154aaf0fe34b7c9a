package striped

import (
	"strconv"
	"strings"
)

// SaveState is targets.StateSaver: the per-stripe error counts, which the
// kernel keeps while the table is live ("3,0" for two stripes).
func (s *Striped) SaveState() string {
	counts := make([]string, len(s.stripes))
	for i, st := range s.stripes {
		counts[i] = strconv.Itoa(int(st.errors.Load()))
	}
	return strings.Join(counts, ",")
}

// restoreState takes back what SaveState gave; anything else is ignored
// (the counts start at zero, as in a new table).
func (s *Striped) restoreState(saved string) {
	counts := strings.Split(saved, ",")
	if saved == "" || len(counts) != len(s.stripes) {
		return
	}
	for i, c := range counts {
		if n, err := strconv.Atoi(c); err == nil && n >= 0 {
			s.stripes[i].errors.Store(int32(min(n, maxErrorEvents)))
		}
	}
}

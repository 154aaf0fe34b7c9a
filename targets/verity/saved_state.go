package verity

import (
	"fmt"
	"strconv"
	"strings"
)

// SaveState is targets.StateSaver: what the kernel keeps in memory while
// the table lives and a later process must have: whether a corrupted
// block was found (the status), how many were logged, and with
// check_at_most_once the blocks verified. Form: "V|C ERRS [RANGES]";
// "" while nothing happened.
func (v *Verity) SaveState() string {
	failed, errs := v.hashFailed.Load(), v.corruptedErrs.Load()
	var ranges string
	if v.validated != nil {
		ranges = v.validated.String()
	}
	if !failed && errs == 0 && ranges == "" {
		return ""
	}
	s := fmt.Sprintf("%s %d", v.Status(), errs)
	if ranges != "" {
		s += " " + ranges
	}
	return s
}

// restoreState takes back what SaveState gave.
func (v *Verity) restoreState(saved string) error {
	f := strings.Fields(saved)
	bad := func(why string) error { return fmt.Errorf("verity: saved state %q: %s", saved, why) }
	if len(f) < 2 || len(f) > 3 || f[0] != "V" && f[0] != "C" {
		return bad(`not "V|C ERRORS [BLOCK RANGES]"`)
	}
	errs, err := strconv.ParseInt(f[1], 10, 32)
	if err != nil || errs < 0 || errs > maxCorruptedErrs {
		return bad("bad count of corrupted blocks")
	}
	v.hashFailed.Store(f[0] == "C")
	v.corruptedErrs.Store(int32(errs))
	if len(f) == 3 {
		if v.validated == nil {
			return bad("verified blocks saved for a table without " + optAtMostOnce)
		}
		if err := v.validated.parse(f[2]); err != nil {
			return bad(err.Error())
		}
	}
	return nil
}

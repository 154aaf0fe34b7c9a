package dm

import (
	"errors"
	"fmt"

	"github.com/gdmsetup/gdmsetup/targets"
)

// WriteZeroesFast is WriteZeroes for a caller that would rather write zeros itself than have
// them written (NBD's FAST_ZERO): every target under the range must zero it without being
// sent zeros (see zeroesFast), or the call fails with an error matching
// errors.ErrUnsupported before anything is zeroed. A Zeroer may still refuse its piece (a
// file system without fallocate's modes): the pieces before it are then zeroed already, so
// the range holds its old data or zeros, nothing else. The checks and other errors are
// WriteZeroes's.
func (d *Device) WriteZeroesFast(off, length int64, mayUnmap bool) error {
	return d.writeZeroes(off, length, mayUnmap, true)
}

// zeroesFast checks that every target under lenSectors from sector is a targets.Zeroer and,
// where one maps onto a mapped device (stacking), that the device's live table zeroes fast
// over the whole area it maps: a stacked device's WriteZeroes would otherwise write zeros
// below. A targets.FastZeroer answers for itself instead. The lower tables are read without
// their I/O gates: a reload racing the check makes one request slow or refused, never wrong.
func (t *Table) zeroesFast(sector, lenSectors uint64, mayUnmap bool) error {
	return t.split(sector, lenSectors, false, func(e *entry, rel, n, _ uint64) error {
		if _, ok := e.target.(targets.Zeroer); !ok {
			return fmt.Errorf("sectors %d+%d: %s zeroes only by writing zeros: %w", e.start+rel, n, e.typ.Name, errors.ErrUnsupported)
		}
		if fz, ok := e.target.(targets.FastZeroer); ok {
			if !fz.ZeroesFast(mayUnmap) {
				return fmt.Errorf("sectors %d+%d: %s cannot zero them without writing zeros here: %w", e.start+rel, n, e.typ.Name, errors.ErrUnsupported)
			}
			return nil
		}
		ai, ok := e.target.(targets.AreaIterator)
		if !ok {
			return nil
		}
		for _, a := range ai.Areas() {
			m, ok := a.Dev.(*mapped)
			if !ok {
				continue
			}
			lower := m.d.current()
			if lower == nil || a.StartSector+a.LenSectors > lower.lenSectors {
				return fmt.Errorf("%s: no live table over sectors %d+%d: %w", m.Name(), a.StartSector, a.LenSectors, errors.ErrUnsupported)
			}
			if err := lower.zeroesFast(a.StartSector, a.LenSectors, mayUnmap); err != nil {
				return fmt.Errorf("%s: %w", m.Name(), err)
			}
		}
		return nil
	})
}

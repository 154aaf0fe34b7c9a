package raid

import (
	"fmt"

	"github.com/gdmsetup/gdmsetup/targets"
)

// readFailure is a raid1 leg's failed read ReadAt repairs: the member,
// and the members' sectors read.
type readFailure struct {
	disk               int
	sector, lenSectors uint64
}

func (f *readFailure) Error() string {
	return fmt.Sprintf("raid1 leg %d: read of %d sectors at sector %d failed", f.disk, f.lenSectors, f.sector)
}

// readCopy reads a piece (raid0, raid1, raid10) from the first copy that
// reads. A member whose read fails is failed (md_error), but for raid1
// when fix is set: the failure is returned as a *readFailure for ReadAt to
// repair (handle_read_error). The last leg holding the data is never
// repaired: its error goes up (raid1_end_read_request).
func (r *Raid) readCopy(p []byte, sector uint64, fix bool) error {
	lenSectors := uint64(len(p)) / sectorBytes
	for _, l := range r.readOrder(r.copies(sector), lenSectors) {
		if _, err := r.members[l.disk].data.ReadAt(p, int64(l.sector)*sectorBytes); err == nil {
			return nil
		}
		if fix && !r.onlyCopy(l.disk) {
			return &readFailure{l.disk, l.sector, lenSectors}
		}
		r.fail(l.disk)
	}
	return errIO
}

// onlyCopy reports whether member i is raid1's last leg in sync.
func (r *Raid) onlyCopy(i int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.members[i].inSync && r.inSyncMembers() == 1
}

// inSyncMember reports whether member i takes I/O and is in sync.
func (r *Raid) inSyncMember(i int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.members[i].usable() && r.members[i].inSync
}

// fixReadError is raid1's fix_read_error after a read of lenSectors at
// sector (the members' sectors) failed on member bad. Page by page
// (pageSectors), the page is read from the members in turn starting with
// bad itself (an integrity device below counts its checksum failure
// again), then from the next ones; the first copy that reads is written
// to the members from the one before it back to bad, bad included, and
// read back from them. A write that fails fails its member. A page no
// member reads fails bad (dm-raid keeps no bad block list) and ends the
// fix. ioMu held exclusively.
func (r *Raid) fixReadError(bad int, sector, lenSectors uint64) {
	n := len(r.members)
	page := make([]byte, pageSectors*sectorBytes)
	check := make([]byte, pageSectors*sectorBytes)
	for lenSectors > 0 {
		s := min(lenSectors, pageSectors)
		p, c := page[:s*sectorBytes], check[:s*sectorBytes]
		offBytes := int64(sector) * sectorBytes
		good := -1
		for i := range n {
			d := (bad + i) % n
			if !r.holds(d, sector, s) {
				continue
			}
			if _, err := r.members[d].data.ReadAt(p, offBytes); err == nil {
				good = d
				break
			}
		}
		if good < 0 {
			r.fail(bad)
			return
		}
		for d := good; d != bad; {
			d = (d + n - 1) % n
			if r.inSyncMember(d) {
				if err := targets.DevWrite(r.members[d].data, p, offBytes, false); err != nil {
					r.fail(d)
				}
			}
		}
		for d := good; d != bad; {
			d = (d + n - 1) % n
			if r.inSyncMember(d) {
				r.members[d].data.ReadAt(c, offBytes)
			}
		}
		sector, lenSectors = sector+s, lenSectors-s
	}
}

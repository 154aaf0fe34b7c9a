package crypt

import (
	"fmt"
	"strings"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Measure is crypt_status's STATUSTYPE_IMA: the flag features as y/n,
// the integrity tag size and profile and the sector size when set, the
// cipher string, then the key's size in bytes and its parts (one per
// tfm; the IV modes that take extra or MAC key bytes, lmk, tcw, elephant
// and AEADs, are not in gdmsetup, so those sizes are 0).
func (c *Crypt) Measure() string {
	f := c.features
	var b strings.Builder
	b.WriteString(Type.MeasureHead())
	for _, o := range []struct {
		name string
		on   bool
	}{
		{"allow_discards", f.allowDiscards}, {"same_cpu_crypt", f.sameCPU}, {"submit_from_crypt_cpus", f.noOffload},
		{"no_read_workqueue", f.noReadWorkqueue}, {"no_write_workqueue", f.noWriteWorkqueue}, {"iv_large_sectors", c.ivLargeSectors},
	} {
		fmt.Fprintf(&b, ",%s=%c", o.name, targets.MeasureFlag(o.on))
	}
	if tagBytes, profile, ok := strings.Cut(c.integrity, ":"); ok {
		fmt.Fprintf(&b, ",integrity_tag_size=%s,cipher_auth=%s", tagBytes, profile)
	}
	if c.sectorBytes != targets.SectorSize {
		fmt.Fprintf(&b, ",sector_size=%d", c.sectorBytes)
	}
	fmt.Fprintf(&b, ",cipher_string=%s,key_size=%d,key_parts=%d,key_extra_size=0,key_mac_size=0;",
		c.cipherString, len(c.keyed.Load().key), c.tfmsCount)
	return b.String()
}

package verity

import (
	"fmt"
	"strings"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Measure is verity_status's STATUSTYPE_IMA: C or V as in the status,
// the version, devices, algorithm, root digest and salt ("-" for none),
// ignore_zero_blocks and check_at_most_once as y/n, the signature key
// when given, and the corruption mode when not the default EIO.
func (v *Verity) Measure() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s,hash_failed=%s,verity_version=%d,data_device_name=%s,hash_device_name=%s,verity_algorithm=%s,root_digest=%x,salt=",
		Type.MeasureHead(), v.Status(), v.version, v.dataDev.Name(), v.hashDev.Name(), v.algName, v.rootDigest)
	if len(v.salt) == 0 {
		b.WriteByte('-')
	} else {
		fmt.Fprintf(&b, "%x", v.salt)
	}
	fmt.Fprintf(&b, ",ignore_zero_blocks=%c,check_at_most_once=%c", targets.MeasureFlag(v.zeroDigest != nil), targets.MeasureFlag(v.validated != nil))
	if v.sigKeyDesc != "" {
		fmt.Fprintf(&b, ",root_hash_sig_key_desc=%s", v.sigKeyDesc)
	}
	if v.mode != modeEIO {
		fmt.Fprintf(&b, ",verity_mode=%s", modeNames[v.mode])
	}
	b.WriteByte(';')
	return b.String()
}

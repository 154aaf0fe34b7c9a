#!/bin/bash
# integrity2-gdm.sh: the kernel takes up a recalculation gdmsetup finished. gdmsetup activates
# VG nvg of testdata/lvm/n1, n2.img.gz (integrity2-oracle.sh: ri's integrity recalculation
# interrupted by vgchange -an right after lvconvert --raidintegrity y), which resumes the
# recalculation from the superblocks' recalc_sector and runs it to its end; it reads each LV's
# SHA-256 and deactivates. Then lvm2 in the kernel oracle activates the two images
# (integrity2-gdm-oracle.sh, through capture.sh with FROM=): every LV must read to gdmsetup's
# SHA-256 (a tag gdmsetup got wrong fails the read), and a check of each set must find no
# raid mismatch and no integrity mismatch.
. "$(dirname "$0")/gdm-lib.sh"
gdm_setup n1 n2
g lvm activate "$d"/img/n1.img "$d"/img/n2.img
for lv in rb ri; do echo "nvg-$lv $(g read nvg-$lv | sha256sum | cut -c1-64)"; done >"$d/ours"
g status | grep ' integrity '
g lvm deactivate nvg
gdm_kernel_reads integrity2-gdm sha256
if ! grep -qx "mismatches: raid 0 integrity 0" "$out"; then
	echo "integrity2-gdm.sh: the kernel's check found mismatches:" >&2
	grep '^mismatches' "$out" >&2
	exit 1
fi
echo "integrity2-gdm.sh: the kernel read every LV as gdmsetup did, its check found no mismatch"

#!/bin/bash
# raid-gdm.sh: the kernel reads what gdmsetup wrote. gdmsetup activates the raid and mirror LVs
# of testdata/lvm/r1..r5.img.gz, writes 320 KiB at 1 MiB + 4 KiB into each, reads each LV's
# SHA-256 and deactivates; then lvm2 in the kernel oracle activates the images
# (raid-gdm-oracle.sh, through capture.sh with FROM=): every LV must read to gdmsetup's
# SHA-256, and the transcript (raid-gdm-oracle.out) says whether md resynced anything and what
# a check of each raid set found.
. "$(dirname "$0")/gdm-lib.sh"
gdm_setup r1 r2 r3 r4 r5
lvs="r1 r0 r0m r4 r5 r6 r10 m mc thin"
g lvm activate "$d"/img/r*.img 2>/dev/null
head -c 327680 /dev/urandom >"$d/data"
for lv in $lvs; do g write "raid--vg-$lv" --offset 1052672 <"$d/data"; done
g lvm deactivate raid-vg
g lvm activate "$d"/img/r*.img 2>/dev/null
for lv in $lvs; do echo "raid--vg-$lv $(g read "raid--vg-$lv" | sha256sum | cut -c1-64)"; done >"$d/ours"
g lvm deactivate raid-vg
gdm_kernel_reads raid-gdm sha256 _mimage_
echo "raid-gdm.sh: the kernel read every LV as gdmsetup did"

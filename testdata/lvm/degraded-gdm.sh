#!/bin/bash
# degraded-gdm.sh: the kernel takes up what gdmsetup wrote to degraded sets. gdmsetup activates
# VG dvg of testdata/lvm/q1..q3.img.gz with q2 missing (raid1 and raid5 run degraded; the mirror
# is refused), writes 192 KiB of its own at 64 KiB into each set, reads each LV's SHA-256 and deactivates;
# then lvm2 in the kernel oracle activates the three images (degraded-gdm-oracle.sh, through
# capture.sh with FROM=): md must recover q2's members from what gdmsetup's superblocks and
# bitmaps say, every LV must read to gdmsetup's SHA-256, and a check of each set must find no
# mismatch (the transcript, degraded-gdm-oracle.out, keeps the status at once and md's
# messages).
. "$(dirname "$0")/gdm-lib.sh"
gdm_setup q1 q2 q3
lvs="r1 r5"
g lvm activate "$d"/img/q1.img "$d"/img/q3.img 2>/dev/null || true
for lv in $lvs; do head -c 196608 /dev/urandom | g write "dvg-$lv" --offset 65536; done
for lv in $lvs; do echo "dvg-$lv $(g read "dvg-$lv" | sha256sum | cut -c1-64)"; done >"$d/ours"
g status | grep ' raid '
g lvm deactivate dvg
gdm_kernel_reads degraded-gdm sha256
echo "degraded-gdm.sh: the kernel recovered q2 and read every LV as gdmsetup did"

#!/bin/bash
# degraded2-gdm.sh: the kernel takes up what gdmsetup wrote to degraded sets. gdmsetup activates
# VG gvg of testdata/lvm/g1..g5.img.gz with g2 missing (raid6, raid10 and raid4 run degraded),
# writes 192 KiB at 64 KiB into each of them, reads each LV's SHA-256 and deactivates; then
# lvm2 in the kernel oracle activates the five images (degraded2-gdm-oracle.sh, through
# capture.sh with FROM=): md must recover g2's members from what gdmsetup's superblocks and
# bitmaps say, every LV must read to gdmsetup's SHA-256, and a check of each set must find no
# mismatch (the transcript, degraded2-gdm-oracle.out, keeps the status at once and md's
# messages).
. "$(dirname "$0")/gdm-lib.sh"
gdm_setup g1 g2 g3 g4 g5
lvs="r6 r10 r4"
g lvm activate "$d"/img/g1.img "$d"/img/g3.img "$d"/img/g4.img "$d"/img/g5.img 2>/dev/null
head -c 196608 /dev/urandom >"$d/data"
for lv in $lvs; do g write "gvg-$lv" --offset 65536 <"$d/data"; done
for lv in $lvs; do echo "gvg-$lv $(g read "gvg-$lv" | sha256sum | cut -c1-64)"; done >"$d/ours"
g status | grep ' raid '
g lvm deactivate gvg
gdm_kernel_reads degraded2-gdm sha256
echo "degraded2-gdm.sh: the kernel recovered g2 and read every LV as gdmsetup did"

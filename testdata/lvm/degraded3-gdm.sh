#!/bin/bash
# degraded3-gdm.sh: the kernel takes up what gdmsetup wrote to a raid1 with three legs, two of
# them missing, and to a raid1 converted to integrity. gdmsetup activates VG hvg of
# testdata/lvm/h1..h4.img.gz with every PV and writes 192 KiB at 64 KiB into ri (lvconvert
# --raidintegrity y in the oracle: gdmsetup's integrity tags and journal), deactivates, then
# activates it with h2 and h3 missing (r1 runs on h1 alone, ri is refused), writes 192 KiB at
# 64 KiB into r1, reads each LV's SHA-256 and deactivates; then lvm2 in the kernel oracle
# activates the four images (degraded3-gdm-oracle.sh, through capture.sh with FROM=): md must
# recover r1's legs on h2 and h3 from what gdmsetup's superblocks and bitmap say, every LV
# must read to gdmsetup's SHA-256 (a bad integrity tag fails the read), and a check of each set
# must find no mismatch nor integrity mismatch (the transcript, degraded3-gdm-oracle.out, keeps
# the status at once and md's messages).
. "$(dirname "$0")/gdm-lib.sh"
gdm_setup h1 h2 h3 h4
head -c 196608 /dev/urandom >"$d/data"
g lvm activate "$d"/img/h1.img "$d"/img/h2.img "$d"/img/h3.img "$d"/img/h4.img
g write hvg-ri --offset 65536 <"$d/data"
echo "hvg-ri $(g read hvg-ri | sha256sum | cut -c1-64)" >"$d/ri"
g lvm deactivate hvg
g lvm activate "$d"/img/h1.img "$d"/img/h4.img 2>/dev/null || true
head -c 196608 /dev/urandom >"$d/data"
g write hvg-r1 --offset 65536 <"$d/data"
{
	echo "hvg-r1 $(g read hvg-r1 | sha256sum | cut -c1-64)"
	cat "$d/ri"
} >"$d/ours"
g status | grep ' raid '
g lvm deactivate hvg
gdm_kernel_reads degraded3-gdm sha256
echo "degraded3-gdm.sh: the kernel recovered h2 and h3 and read every LV as gdmsetup did"

#!/bin/bash
# integrity-gdm.sh: the kernel reads what gdmsetup wrote. gdmsetup activates the raid LVs with
# integrity of testdata/lvm/i1..i3.img.gz, writes 320 KiB at 1 MiB + 4 KiB into each LV (data,
# integrity tags, journal or bitmap, raid bitmaps), reads each LV's SHA-256 and deactivates;
# then lvm2 in the kernel oracle activates the images (integrity-gdm-oracle.sh, through
# capture.sh with FROM=): every LV must read to gdmsetup's SHA-256, and the transcript
# (integrity-gdm-oracle.out) says whether dm-integrity found a tag mismatch and what a check
# of each raid set found. TIMEOUT (seconds, default 900) bounds the oracle run.
. "$(dirname "$0")/gdm-lib.sh"
gdm_setup i1 i2 i3
lvs="r1 rb r5 rc plain lin"
g lvm activate "$d"/img/i*.img 2>/dev/null
head -c 327680 /dev/urandom >"$d/data"
for lv in r1 rb r5 rc plain; do g write "ivg-$lv" --offset 1052672 <"$d/data"; done
g write ivg-lin --offset 4096 <"$d/data"
g lvm deactivate ivg
g lvm activate "$d"/img/i*.img 2>/dev/null
for lv in $lvs; do echo "ivg-$lv $(g read "ivg-$lv" | sha256sum | cut -c1-64)"; done >"$d/ours"
g lvm deactivate ivg
TIMEOUT="${TIMEOUT:-900}" ORACLE_ACCEL="${ORACLE_ACCEL:-tcg}" gdm_kernel_reads integrity-gdm sha256
if grep -qiE 'checksum failed|mismatch' <(awk '/^== kernel messages/{p=1; next} /^==/{p=0} p' "$out"); then
	echo "integrity-gdm.sh: the kernel found integrity or raid mismatches (see $out)" >&2
	exit 1
fi
echo "integrity-gdm.sh: the kernel read every LV as gdmsetup did"

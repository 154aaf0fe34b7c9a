#!/bin/bash
# integrity-gdm.sh: the kernel reads what gdmsetup wrote. gdmsetup activates the raid LVs with
# integrity of testdata/lvm/i1..i3.img.gz, writes 320 KiB at 1 MiB + 4 KiB into each LV (data,
# integrity tags, journal or bitmap, raid bitmaps), reads each LV's SHA-256 and deactivates;
# then lvm2 in the kernel oracle activates the images (integrity-gdm-oracle.sh, through
# capture.sh with FROM=): every LV must read to gdmsetup's SHA-256, and the transcript
# (integrity-gdm-oracle.out) says whether dm-integrity found a tag mismatch and what a check
# of each raid set found. TIMEOUT (seconds, default 900) bounds the oracle run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
d="$(mktemp -d)"
trap 'rm -rf "$d"' EXIT
(cd "$here/../.." && go build -o "$d/gdmsetup" ./cmd/gdmsetup)
g() { "$d/gdmsetup" --dir "$d/state" "$@"; }
mkdir "$d/img"
for n in 1 2 3; do gunzip -c "$here/i$n.img.gz" >"$d/img/i$n.img"; done
lvs="r1 rb r5 rc plain lin"
g lvm activate "$d"/img/i*.img 2>/dev/null
head -c 327680 /dev/urandom >"$d/data"
for lv in r1 rb r5 rc plain; do g write "ivg-$lv" --offset 1052672 <"$d/data"; done
g write ivg-lin --offset 4096 <"$d/data"
g lvm deactivate ivg
g lvm activate "$d"/img/i*.img 2>/dev/null
for lv in $lvs; do echo "ivg-$lv $(g read "ivg-$lv" | sha256sum | cut -c1-64)"; done >"$d/ours"
g lvm deactivate ivg
FROM="$d/img" TIMEOUT="${TIMEOUT:-900}" ORACLE_ACCEL="${ORACLE_ACCEL:-tcg}" "$here/capture.sh" integrity-gdm
out="$here/integrity-gdm-oracle.out"
kernel="$(awk '/^== sha256/{p=1; next} /^==/{p=0} p' "$out")"
{ echo "== gdmsetup's sha256 (before the kernel)"; cat "$d/ours"; } >>"$out"
if [ "$kernel" != "$(cat "$d/ours")" ]; then
	echo "integrity-gdm.sh: the kernel read other bytes than gdmsetup:" >&2
	diff <(echo "$kernel") "$d/ours" >&2
	exit 1
fi
if grep -qiE 'checksum failed|mismatch' <(awk '/^== kernel messages/{p=1; next} /^==/{p=0} p' "$out"); then
	echo "integrity-gdm.sh: the kernel found integrity or raid mismatches (see $out)" >&2
	exit 1
fi
echo "integrity-gdm.sh: the kernel read every LV as gdmsetup did"

#!/bin/bash
# raid-gdm.sh: the kernel reads what gdmsetup wrote. gdmsetup activates the raid and mirror LVs
# of testdata/lvm/r1..r5.img.gz, writes 320 KiB at 1 MiB + 4 KiB into each, reads each LV's
# SHA-256 and deactivates; then lvm2 in the kernel oracle activates the images
# (raid-gdm-oracle.sh, through capture.sh with FROM=): every LV must read to gdmsetup's
# SHA-256, and the transcript (raid-gdm-oracle.out) says whether md resynced anything and what
# a check of each raid set found.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
d="$(mktemp -d)"
trap 'rm -rf "$d"' EXIT
(cd "$here/../.." && go build -o "$d/gdmsetup" ./cmd/gdmsetup)
g() { "$d/gdmsetup" --dir "$d/state" "$@"; }
mkdir "$d/img"
for n in 1 2 3 4 5; do gunzip -c "$here/r$n.img.gz" >"$d/img/r$n.img"; done
lvs="r1 r0 r0m r4 r5 r6 r10 m mc thin"
g lvm activate "$d"/img/r*.img 2>/dev/null
head -c 327680 /dev/urandom >"$d/data"
for lv in $lvs; do g write "raid--vg-$lv" --offset 1052672 <"$d/data"; done
g lvm deactivate raid-vg
g lvm activate "$d"/img/r*.img 2>/dev/null
for lv in $lvs; do echo "raid--vg-$lv $(g read "raid--vg-$lv" | sha256sum | cut -c1-64)"; done >"$d/ours"
g lvm deactivate raid-vg
FROM="$d/img" "$here/capture.sh" raid-gdm
out="$here/raid-gdm-oracle.out"
kernel="$(awk '/^== sha256/{p=1; next} /^==/{p=0} p' "$out" | grep -v _mimage_)"
{ echo "== gdmsetup's sha256 (before the kernel)"; cat "$d/ours"; } >>"$out"
if [ "$kernel" != "$(cat "$d/ours")" ]; then
	echo "raid-gdm.sh: the kernel read other bytes than gdmsetup:" >&2
	diff <(echo "$kernel") "$d/ours" >&2
	exit 1
fi
echo "raid-gdm.sh: the kernel read every LV as gdmsetup did"

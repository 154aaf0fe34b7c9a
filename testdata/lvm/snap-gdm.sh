#!/bin/bash
# snap-gdm.sh: the kernel reads what gdmsetup wrote. gdmsetup activates the VG of
# testdata/lvm/s1,s2.img.gz (its pending merge runs to its end), writes 320 KiB at an offset
# 4 KiB past a chunk into origins (copied into their snapshots' COW), snapshots and thin volumes
# on the external origin, deactivates, activates again and reads each LV's SHA-256 and the
# snapshots' and thin volumes' status; then lvm2 in the kernel oracle activates the images
# (snap-gdm-oracle.sh, through capture.sh with FROM=): every LV must read to gdmsetup's
# SHA-256 and show gdmsetup's status.
. "$(dirname "$0")/gdm-lib.sh"
gdm_setup s1 s2
merged() {
	for i in $(seq 100); do
		set -- $(g status vg-mlin)
		[ "$(echo "$4" | cut -d/ -f1)" = "$5" ] && return 0
		sleep 0.1
	done
	echo "snap-gdm.sh: the merge is not over: $*" >&2
	exit 1
}
g lvm activate "$d"/img/s*.img
merged
head -c 327680 /dev/urandom >"$d/data"
g write vg-lin --offset $((1 << 20 | 4096)) <"$d/data"
g write vg-lin --offset $((9 << 20 | 4096)) <"$d/data"
g write vg-snap --offset $((6 << 20 | 4096)) <"$d/data"
g write vg-snap2 --offset $((3 << 20 | 4096)) <"$d/data"
g write vg-str --offset $((3 << 20 | 4096)) <"$d/data"
g write vg-snapstr --offset $((5 << 20 | 4096)) <"$d/data"
g write vg-mlin --offset $((5 << 20 | 4096)) <"$d/data"
g write vg-ext --offset $((1 << 20 | 4096)) <"$d/data"
g write vg-ext2 --offset $((2 << 20 | 4096)) <"$d/data"
g lvm deactivate vg
g lvm activate "$d"/img/s*.img
merged
lvs="lin snap snap2 str snapstr mlin eo ext ext2"
for lv in $lvs; do echo "vg-$lv $(g read "vg-$lv" | sha256sum | cut -c1-64)"; done >"$d/ours"
g status | grep -E ' (snapshot|snapshot-merge|thin) ' >>"$d/ours"
g lvm deactivate vg
gdm_kernel_reads snap-gdm "sha256 and status"
echo "snap-gdm.sh: the kernel read every LV and status as gdmsetup did"

#!/bin/sh
# Kernel oracle: LVM2 (the host's lvm binary on the "tools" disk) activates raid and mirror LVs
# with one PV of their VG missing. VG "dvg" on q1, q2, q3 (a raid1 on q1 and q2, a raid5 over
# the three, a core-log mirror on q1 and q2, a linear LV on q1), written, in sync;
# then q2 is hidden from lvm by a device filter and the VG activated in each activation mode.
# The transcript records what each mode made (ls, table, info, status), lvm2's messages and
# exit status, and the SHA-256 of the LVs it activated.
# Made by testdata/lvm/capture.sh degraded (which also keeps the disks as fixtures).
# keep: q1 q2 q3
# oracle-disk: q1 24M
# oracle-disk: q2 24M
# oracle-disk: q3 24M
set -e
mkdir -p /tmp/t && cd /tmp/t && tar xf /dev/oracle/tools
export LD_LIBRARY_PATH=/tmp/t/lib
mkdir -p /run/lock/lvm /etc/lvm /run/lvm
C='--config=activation{udev_sync=0 udev_rules=0 monitoring=0} devices{obtain_device_list_from_udev=0 use_devicesfile=0} global{use_lvmpolld=0}'
lvm() { cmd=$1; shift; /tmp/t/lvm "$cmd" "$C" "$@"; }
Q1=$(readlink -f /dev/oracle/q1)
Q2=$(readlink -f /dev/oracle/q2)
Q3=$(readlink -f /dev/oracle/q3)
F="--config=activation{udev_sync=0 udev_rules=0 monitoring=0} devices{obtain_device_list_from_udev=0 use_devicesfile=0 global_filter=[\"a|^$Q1\$|\",\"a|^$Q3\$|\",\"r|.*|\"]} global{use_lvmpolld=0}"
lvmf() { cmd=$1; shift; /tmp/t/lvm "$cmd" "$F" "$@"; }
fill() { /tmp/t/dd if=/dev/urandom of="/dev/mapper/$1" bs=64K count="$2" seek="${3:-0}" oflag=direct status=none; }
synced() {
	dmsetup status | awk '
		$4 == "raid" { split($8, a, "/"); if ($7 ~ /[^A]/ || a[1] != a[2] || $9 != "idle") n++ }
		$4 == "mirror" { split($(6 + $5), a, "/"); if (a[1] != a[2]) n++ }
		END { exit n > 0 }'
}
waitsync() {
	i=0
	until synced; do
		i=$((i + 1))
		[ $i -lt 600 ] || { echo "not in sync:"; dmsetup status; exit 1; }
		sleep 1
	done
}
lvs="r1 r5 m lin"
sums() { for lv in "$@"; do echo "dvg-$lv $(sha256sum < /dev/mapper/dvg-$lv | cut -c1-64)"; done; }

lvm pvcreate -q "$Q1" "$Q2" "$Q3"
lvm vgcreate -q -s 1M dvg "$Q1" "$Q2" "$Q3"
lvm lvcreate -q --type raid1 -m 1 -L 4M -n r1 dvg "$Q1" "$Q2"
lvm lvcreate -q --type raid5 -i 2 -I 64k -L 4M -n r5 dvg
lvm lvcreate -q --type mirror -m 1 --mirrorlog core -L 2M -n m dvg "$Q1" "$Q2"
lvm lvcreate -q -L 2M -n lin dvg "$Q1"
waitsync
for lv in $lvs; do fill dvg-$lv 2 1; done
waitsync
echo "== sha256 (all PVs)"
sums $lvs
lvm vgchange -q -an dvg
for mode in degraded complete partial; do
	echo "== vgchange -ay --activationmode $mode (q2 missing)"
	rc=0; lvmf vgchange -ay --activationmode $mode dvg 2>&1 || rc=$?
	echo "exit $rc"
	dmsetup ls
	dmsetup table
	dmsetup info -c -o name,uuid,attr,open
	dmsetup status
	echo "== sha256 ($mode)"
	for lv in $lvs; do [ -e /dev/mapper/dvg-$lv ] && sums $lv; done
	rc=0; lvmf vgchange -q -an --activationmode partial dvg 2>&1 || rc=$?
	echo "exit $rc"
	dmsetup ls
done

#!/bin/sh
# Kernel oracle: lvm2 2.03.16 activates VG vg (old-style snapshots, a merged origin, thin volumes
# on an external origin) from images that gdmsetup activated, wrote and deactivated
# (testdata/lvm/snap-gdm.sh makes them and runs this through capture.sh with FROM=); the
# transcript records each LV's SHA-256 and the snapshots' and thin volumes' status.
# oracle-disk: s1 64M
# oracle-disk: s2 64M
set -e
mkdir -p /tmp/t && cd /tmp/t && tar xf /dev/oracle/tools
export LD_LIBRARY_PATH=/tmp/t/lib
mkdir -p /run/lock/lvm /etc/lvm /run/lvm
C='--config=activation{udev_sync=0 udev_rules=0 monitoring=0} devices{obtain_device_list_from_udev=0 use_devicesfile=0} global{use_lvmpolld=0}'
lvm() { cmd=$1; shift; /tmp/t/lvm "$cmd" "$C" "$@"; }
dmesg -c >/dev/null
echo "== vgchange -ay"
lvm vgchange -q -ay --poll n vg
dmsetup table
i=0
while [ $i -lt 300 ]; do
	set -- $(dmsetup status vg-mlin)
	[ "$(echo "$4" | cut -d/ -f1)" = "$5" ] && break
	sleep 0.2
	i=$((i + 1))
done
echo "== kernel messages"
dmesg -c | grep -iE 'snapshot|device-mapper' || true
echo "== sha256"
for lv in lin snap snap2 str snapstr mlin eo ext ext2; do
	echo "vg-$lv $(sha256sum < /dev/mapper/vg-$lv | cut -c1-64)"
done
dmsetup status | grep -E ' (snapshot|snapshot-merge|thin) '
echo "== lvs"
lvm lvs -a -o vg_name,lv_name,lv_attr,origin,data_percent,snap_percent --noheadings
lvm vgchange -q -an vg
dmsetup ls

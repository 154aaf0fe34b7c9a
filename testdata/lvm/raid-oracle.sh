#!/bin/sh
# Kernel oracle: LVM2 (the host's lvm binary, carried in on the "tools" disk) builds one raid or
# mirror LV of each type, and a thin pool whose data and metadata are raid1 LVs, on five disks;
# writes data into each, waits for every set to be in sync, then activates them afresh; the
# transcript records the names, UUIDs, tables and status that activation loaded, a raid
# superblock and bitmap as the kernel left them, and every LV's SHA-256.
# Made by testdata/lvm/capture.sh raid (which also keeps the disks as fixtures).
# keep: r1 r2 r3 r4 r5
#   r1..r5: whole-disk PVs of VG "raid-vg" (extents of 1 MiB).
# oracle-disk: r1 40M
# oracle-disk: r2 40M
# oracle-disk: r3 40M
# oracle-disk: r4 40M
# oracle-disk: r5 40M
set -e
mkdir -p /tmp/t && cd /tmp/t && tar xf /dev/oracle/tools
export LD_LIBRARY_PATH=/tmp/t/lib
mkdir -p /run/lock/lvm /etc/lvm /run/lvm
C='--config=activation{udev_sync=0 udev_rules=0 monitoring=0} devices{obtain_device_list_from_udev=0 use_devicesfile=0} global{use_lvmpolld=0}'
lvm() { cmd=$1; shift; /tmp/t/lvm "$cmd" "$C" "$@"; }
fill() { /tmp/t/dd if=/dev/urandom of="/dev/mapper/$1" bs=64K count="$2" seek="${3:-0}" oflag=direct status=none; }
# synced: every raid set in sync and idle, every mirror's regions all in sync.
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
D="/dev/oracle/r1 /dev/oracle/r2 /dev/oracle/r3 /dev/oracle/r4 /dev/oracle/r5"

lvm pvcreate -q $D
lvm vgcreate -q -s 1M raid-vg $D
lvm lvcreate -q --type raid1 -m 1 -L 6M -n r1 raid-vg /dev/oracle/r1 /dev/oracle/r2
lvm lvcreate -q --type raid0 -i 2 -I 64k -L 4M -n r0 raid-vg /dev/oracle/r1 /dev/oracle/r2
lvm lvcreate -q --type raid0_meta -i 2 -I 32k -L 4M -n r0m raid-vg
lvm lvcreate -q --type raid4 -i 2 -I 64k -L 4M -n r4 raid-vg
lvm lvcreate -q --type raid5 -i 2 -I 64k -L 4M -n r5 raid-vg
lvm lvcreate -q --type raid6 -i 3 -I 64k -L 6M -n r6 raid-vg
lvm lvcreate -q --type raid10 -i 2 -m 1 -I 64k -L 4M -n r10 raid-vg
lvm lvcreate -q --type mirror -m 1 --mirrorlog disk -L 4M -n m raid-vg
lvm lvcreate -q --type mirror -m 1 --mirrorlog core -L 4M -n mc raid-vg
lvm lvextend -q -L +2M raid-vg/r1
lvm lvcreate -q --type raid1 -m 1 -L 4M -n tp raid-vg
lvm lvcreate -q --type raid1 -m 1 -L 4M -n tpmeta raid-vg
lvm lvconvert -q -y --type thin-pool --poolmetadata raid-vg/tpmeta raid-vg/tp
lvm lvcreate -q -V 8M -T raid-vg/tp -n thin
waitsync
for lv in r1 r0 r0m r4 r5 r6 r10 m mc thin; do
	fill raid--vg-$lv 2
	fill raid--vg-$lv 2 40
done
waitsync
lvm vgchange -q -an raid-vg
echo "== vgchange -ay"
lvm vgchange -q -ay raid-vg
dmsetup ls
dmsetup table
dmsetup info -c -o name,uuid,attr,open
echo "== status"
waitsync
dmsetup status
echo "== superblock raid--vg-r5_rmeta_0"
od -A d -t x1 -N 512 /dev/mapper/raid--vg-r5_rmeta_0
od -A d -t x1 -j 4096 -N 256 /dev/mapper/raid--vg-r5_rmeta_0
echo "== lvs"
lvm lvs -a -o vg_name,lv_name,lv_attr,segtype,seg_start_pe,seg_size_pe,region_size,stripes,stripe_size,devices --units s --noheadings
echo "== sha256"
for lv in r1 r0 r0m r4 r5 r6 r10 m mc thin; do
	echo "raid--vg-$lv $(sha256sum < /dev/mapper/raid--vg-$lv | cut -c1-64)"
done
echo "== metadata"
lvm vgcfgbackup -q -f /tmp/vg.txt raid-vg
grep -v 'creation_time\|creation_host\|^#\|^description\|^contents\|^version' /tmp/vg.txt
lvm vgchange -q -an raid-vg
dmsetup ls

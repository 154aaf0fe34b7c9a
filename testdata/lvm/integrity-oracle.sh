#!/bin/sh
# Kernel oracle: LVM2 (the host's lvm binary on the "tools" disk) builds raid LVs with
# dm-integrity under each image (--raidintegrity y): a raid1 in journal mode, a raid1 in bitmap
# mode with 1 KiB integrity blocks, a raid5 and a raid1 converted to integrity afterwards
# (lvconvert --raidintegrity y, 4 KiB blocks), then a raid1 without integrity and a linear LV
# on i2 (to see what lvm2's refusal of a partial raid LV with integrity does to the LVs after
# it). It waits for every raid set to be in sync and
# every integrity device's initial recalculation to end, writes data into each LV, activates
# them afresh, then hides i2 from lvm by a device filter and activates the VG in each
# activation mode. The transcript records the tables at creation (with recalculate), the
# names, UUIDs, tables and status that activation loaded, every LV's SHA-256, lvs and the
# VG's metadata.
# Made by testdata/lvm/capture.sh integrity (which also keeps the disks as fixtures).
# keep: i1 i2 i3
#   i1..i3: whole-disk PVs of VG "ivg" (extents of 1 MiB).
# oracle-disk: i1 64M
# oracle-disk: i2 64M
# oracle-disk: i3 64M
set -e
mkdir -p /tmp/t && cd /tmp/t && tar xf /dev/oracle/tools
export LD_LIBRARY_PATH=/tmp/t/lib
mkdir -p /run/lock/lvm /etc/lvm /run/lvm
I1=$(readlink -f /dev/oracle/i1)
I2=$(readlink -f /dev/oracle/i2)
I3=$(readlink -f /dev/oracle/i3)
C='--config=activation{udev_sync=0 udev_rules=0 monitoring=0} devices{obtain_device_list_from_udev=0 use_devicesfile=0} global{use_lvmpolld=0}'
F="--config=activation{udev_sync=0 udev_rules=0 monitoring=0} devices{obtain_device_list_from_udev=0 use_devicesfile=0 global_filter=[\"a|^$I1\$|\",\"a|^$I3\$|\",\"r|.*|\"]} global{use_lvmpolld=0}"
lvm() { cmd=$1; shift; /tmp/t/lvm "$cmd" "$C" "$@"; }
lvmf() { cmd=$1; shift; /tmp/t/lvm "$cmd" "$F" "$@"; }
fill() { /tmp/t/dd if=/dev/urandom of="/dev/mapper/$1" bs=64K count="$2" seek="${3:-0}" oflag=direct status=none; }
# synced: every raid set in sync and idle, every integrity device done recalculating (its
# status shows "-" or, once a recalculation is over, the provided sectors as its position).
synced() {
	dmsetup status | awk '
		$4 == "raid" { split($8, a, "/"); if ($7 ~ /[^A]/ || a[1] != a[2] || $9 != "idle") n++ }
		$4 == "integrity" && $7 != "-" && $7 != $6 { n++ }
		END { exit n > 0 }'
}
waitsync() {
	i=0
	until synced; do
		i=$((i + 1))
		[ $i -lt 600 ] || { echo "not in sync:"; dmsetup status; exit 1; }
		sleep 1
	done
	echo "in sync after ${i}s"
}
lvs="r1 rb r5 rc plain lin"
sums() { for lv in "$@"; do echo "ivg-$lv $(sha256sum < /dev/mapper/ivg-$lv | cut -c1-64)"; done; }
record() {
	dmsetup ls
	dmsetup table
	dmsetup info -c -o name,uuid,attr,open
	dmsetup status
}

lvm pvcreate -q "$I1" "$I2" "$I3"
lvm vgcreate -q -s 1M ivg "$I1" "$I2" "$I3"
lvm lvcreate -q -y --type raid1 -m 1 --raidintegrity y -L 8M -n r1 ivg "$I1" "$I2"
echo "== table at creation (r1)"
dmsetup table | grep '^ivg-r1'
lvm lvcreate -q -y --type raid1 -m 1 --raidintegrity y --raidintegritymode bitmap --raidintegrityblocksize 1024 -L 4M -n rb ivg "$I1" "$I2"
lvm lvcreate -q -y --type raid5 -i 2 -I 64k --raidintegrity y -L 4M -n r5 ivg "$I1" "$I2" "$I3"
lvm lvcreate -q -y --type raid1 -m 1 -L 4M -n rc ivg "$I1" "$I2"
lvm lvcreate -q -y --type raid1 -m 1 -L 2M -n plain ivg "$I1" "$I2"
lvm lvcreate -q -y -L 1M -n lin ivg "$I2"
waitsync
echo "== lvconvert --raidintegrity y --raidintegrityblocksize 4096 ivg/rc"
rc=0; lvm lvconvert -y --raidintegrity y --raidintegrityblocksize 4096 ivg/rc 2>&1 || rc=$?
echo "exit $rc"
echo "== table after conversion (rc)"
dmsetup table | grep '^ivg-rc'
waitsync
for lv in $lvs; do
	fill ivg-$lv 2 1
	fill ivg-$lv 1 8
done
waitsync
echo "== sha256 (written)"
sums $lvs
lvm vgchange -q -an ivg
echo "== vgchange -ay"
lvm vgchange -q -ay ivg
record
echo "== status"
waitsync
dmsetup status
echo "== lvs"
lvm lvs -a -o vg_name,lv_name,lv_attr,segtype,seg_start_pe,seg_size_pe,raidintegritymode,raidintegrityblocksize,integritymismatches,devices --units s --noheadings
echo "== sha256"
sums $lvs
echo "== metadata"
lvm vgcfgbackup -q -f /tmp/vg.txt ivg
grep -v 'creation_time\|creation_host\|^#\|^description\|^contents\|^version' /tmp/vg.txt
lvm vgchange -q -an ivg
dmsetup ls
for mode in degraded complete partial; do
	echo "== vgchange -ay --activationmode $mode (i2 missing)"
	rc=0; lvmf vgchange -ay --activationmode $mode ivg 2>&1 || rc=$?
	echo "exit $rc"
	record
	echo "== sha256 ($mode)"
	for lv in $lvs; do [ -e /dev/mapper/ivg-$lv ] && sums $lv; done
	rc=0; lvmf vgchange -q -an --activationmode partial ivg 2>&1 || rc=$?
	echo "exit $rc"
	dmsetup ls
done

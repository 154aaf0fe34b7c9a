#!/bin/sh
# Kernel oracle: lvm2 2.03.16 with raid1 LVs under integrity whose state is not the easy one.
# VG "nvg" on n1, n2 (extents of 1 MiB): rb, a raid1 made with --raidintegrity y
# --raidintegritymode bitmap, written; ri, a 640 MiB raid1 made without integrity, written
# (about 1.4 MiB of random data in pieces), then `lvconvert --raidintegrity y` and at once
# ri's devices are removed with dmsetup remove, top down as vgchange -an does (lvm2 2.03.16 is
# slow enough under TCG for the recalculation of 640 MiB to end before its vgchange -an
# removes them; a first capture with vgchange -an found it done): the kernel's removal of an
# integrity device stops its recalculation at the next chunk (__dm_destroy sets
# DMF_POST_SUSPENDING) and writes the position into the superblock. The status just before and
# each superblock's first bytes after are recorded; the script fails unless the superblocks
# show a recalculation under way. What the rest changes is saved then (the first 32 MiB and the last 128
# MiB of each disk: every metadata area, rb and ri's _imeta, checked) and put back at the end:
# the fixtures are that state. lvm2 activates the VG again: the transcript records the tables, the status at
# once, the status once every recalculation has ended, each LV's SHA-256 and each integrity
# device's and _imeta's SHA-256, and a check's raid and integrity mismatches.
# Then rb is deactivated, 4 KiB of its first leg's data (n1, the sector named on the line
# "== corrupt") is overwritten with `yes corrupt`, and rb is activated and read: the
# transcript records the SHA-256 read, the status (integrity mismatches), lvs, md's messages,
# and the same after a check.
# Made by ORACLE_ACCEL=tcg TIMEOUT=900 testdata/lvm/capture.sh integrity2 (keeps the disks).
# keep: n1 n2
# oracle-disk: n1 768M
# oracle-disk: n2 768M
set -e
mkdir -p /tmp/t && cd /tmp/t && tar xf /dev/oracle/tools
export LD_LIBRARY_PATH=/tmp/t/lib
mkdir -p /run/lock/lvm /etc/lvm /run/lvm /tmp/save
C='--config=activation{udev_sync=0 udev_rules=0 monitoring=0} devices{obtain_device_list_from_udev=0 use_devicesfile=0} global{use_lvmpolld=0}'
lvm() { cmd=$1; shift; /tmp/t/lvm "$cmd" "$C" "$@"; }
N1=$(readlink -f /dev/oracle/n1)
N2=$(readlink -f /dev/oracle/n2)
fill() { /tmp/t/dd if=/dev/urandom of="/dev/mapper/$1" bs=64K count="$2" seek="${3:-0}" oflag=direct status=none; }
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
sums() {
	for lv in "$@"; do
		if s=$(sha256sum < /dev/mapper/nvg-$lv 2>/dev/null); then echo "nvg-$lv ${s%% *}"; else echo "nvg-$lv unreadable"; fi
	done
}
record() {
	dmsetup ls
	dmsetup table
	dmsetup info -c -o name,uuid,attr,open
	dmsetup status
}
# pv MAJ:MIN: the PV's device node.
pv() { echo "/dev/$(basename "$(readlink "/sys/dev/block/$1")")"; }
# superblocks: the first 64 bytes of each _imeta of ri (the integrity superblock: its flags at
# byte 24, recalc_sector at byte 32), read from the PV where the _imeta's table puts it.
superblocks() {
	for i in 0 1; do
		set -- $(grep "^nvg-ri_rimage_${i}_imeta:" /tmp/imeta)
		echo "nvg-ri_rimage_${i}_imeta: $(/tmp/t/dd if=$(pv $5) bs=512 skip=$6 count=1 status=none | head -c 64 | od -A n -t x1 | tr -d '\n')"
	done
}

lvm pvcreate -q "$N1" "$N2"
lvm vgcreate -q -s 1M nvg "$N1" "$N2"
lvm lvcreate -q -y --type raid1 -m 1 --raidintegrity y --raidintegritymode bitmap -L 4M -n rb nvg "$N1" "$N2"
lvm lvcreate -q -y --type raid1 -m 1 -L 640M -n ri nvg "$N1" "$N2"
waitsync
fill nvg-rb 64
for at in 0 100 300 500 700 767; do fill nvg-ri 1 $at; done
fill nvg-ri 16 200
waitsync
echo "== sha256 (written)"
sums rb ri
echo "== lvconvert --raidintegrity y nvg/ri"
rc=0; lvm lvconvert -y --raidintegrity y nvg/ri 2>&1 || rc=$?
echo "exit $rc"
dmsetup table | grep '_imeta:' > /tmp/imeta
echo "== status before the removal"
dmsetup status | grep '^nvg-ri' | grep -v ' linear'
for dm in ri ri_rimage_0 ri_rimage_1 ri_rimage_0_imeta ri_rimage_0_iorig ri_rimage_1_imeta ri_rimage_1_iorig ri_rmeta_0 ri_rmeta_1; do
	dmsetup remove nvg-$dm
done
lvm vgchange -q -an nvg
echo "== superblocks (interrupted)"
superblocks
superblocks | awk '{ if ($26 != "02" || $34 $35 $36 $37 $38 $39 $40 $41 == $18 $19 $20 $21 $22 $23 $24 $25) n++ } END { exit n > 0 }' || { echo "the recalculation was not interrupted"; exit 1; }
echo "== metadata"
lvm vgcfgbackup -q -f /tmp/vg.txt nvg
grep -v 'creation_time\|creation_host\|^#\|^description\|^contents\|^version' /tmp/vg.txt
for i in 0 1; do
	set -- $(grep "^nvg-ri_rimage_${i}_imeta:" /tmp/imeta)
	[ "$6" -ge $((640 * 2048)) ] || { echo "ri_rimage_${i}_imeta at sector $6, not in the part saved"; exit 1; }
done
for g in n1 n2; do
	/tmp/t/dd if=/dev/oracle/$g of=/tmp/save/$g.head bs=1M count=32 status=none
	/tmp/t/dd if=/dev/oracle/$g of=/tmp/save/$g.tail bs=1M skip=640 status=none
done

echo "== vgchange -ay (interrupted)"
dmesg -c > /dev/null
rc=0; lvm vgchange -ay nvg 2>&1 || rc=$?
echo "exit $rc"
record
echo "== resume"
waitsync
dmsetup status
echo "== sha256 (recalculated)"
sums rb ri
echo "== sha256 of the integrity devices and _imeta (recalculated)"
sums ri_rimage_0 ri_rimage_1 ri_rimage_0_imeta ri_rimage_1_imeta
echo "== lvs (recalculated)"
lvm lvs -a -o lv_name,segtype,lv_attr,raid_sync_action,sync_percent,integritymismatches nvg 2>&1 || true
echo "== check (recalculated)"
lvm lvchange -q --syncaction check nvg/ri
sleep 1
waitsync
dmsetup status | grep '^nvg-ri'
echo "== dmesg (recalculated)"
dmesg -c | grep -v '^device-mapper: uevent' || true
lvm vgchange -q -an nvg
echo "== superblocks (recalculated)"
superblocks

lvm vgchange -q -ay nvg
set -- $(dmsetup table nvg-rb_rimage_0_iorig)
lvm vgchange -q -an nvg
at=$(($5 + 2048))
echo "== corrupt $(pv $4) (n1 is $N1) at sector $at (rb_rimage_0_iorig at $5 + 2048, 4096 bytes)"
yes corrupt | head -c 4096 > /tmp/bad
/tmp/t/dd if=/tmp/bad of="$(pv $4)" bs=512 seek=$at conv=notrunc oflag=direct status=none
dmesg -c > /dev/null
lvm vgchange -q -ay nvg
echo "== sha256 (corrupted)"
sums rb
dmsetup status | grep '^nvg-rb'
echo "== sha256 of rb's legs (corrupted, read)"
sums rb_rimage_0 rb_rimage_1
dmsetup status | grep '^nvg-rb'
echo "== check (corrupted)"
lvm lvchange -q --syncaction check nvg/rb
sleep 1
waitsync
dmsetup status | grep '^nvg-rb'
echo "== sha256 of rb's legs (checked)"
sums rb rb_rimage_0 rb_rimage_1
echo "== lvs (corrupted)"
lvm lvs -a -o lv_name,segtype,lv_attr,raid_sync_action,sync_percent,raid_mismatch_count,integritymismatches nvg 2>&1 || true
echo "== dmesg (corrupted)"
dmesg -c | grep -v '^device-mapper: uevent' || true
lvm vgchange -q -an nvg
for g in n1 n2; do
	/tmp/t/dd if=/tmp/save/$g.head of=/dev/oracle/$g bs=1M conv=notrunc status=none
	/tmp/t/dd if=/tmp/save/$g.tail of=/dev/oracle/$g bs=1M seek=640 conv=notrunc status=none
done
sync
echo "== end"

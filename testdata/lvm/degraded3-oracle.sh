#!/bin/sh
# Kernel oracle: LVM2 (the host's lvm binary on the "tools" disk) with more than two copies and
# with integrity added to a raid LV that holds data. VG "hvg" on h1..h4 with 1 MiB extents: an
# attempt at a raid10 with three copies (lvcreate --type raid10 -m 2 -i 2, recorded with its
# exit status), r1 a raid1 with three legs (-m 2) on h1..h3, ri a raid1 on h3 and h4 made
# without integrity, written, then `lvconvert --raidintegrity y` (the integrity devices'
# recalculation waited for), written again. The VG is deactivated and activated afresh (the
# converted LV's second activation), the disks saved in the guest (and put back at the end:
# the fixtures are the disks as they were here), then with h2, h2+h3 and h1+h2+h3 hidden from
# lvm by a device filter the VG is activated in each activation mode, one after the other on
# the same disks. Then with h2+h3 hidden the VG is activated, r1 written (a pattern: `yes
# "gdmsetup degraded3 LV" | head -c 131072` at byte 65536), deactivated, and activated with
# h2 and h3 back. The transcript records what each activation made (ls, table, info, status),
# lvm2's messages and exit status, the SHA-256 of the LVs it activated ("unreadable" when a
# read fails), and for the put-back the status at once and once recovery is idle.
# Made by testdata/lvm/capture.sh degraded3 (TIMEOUT=900; which also keeps the disks).
# keep: h1 h2 h3 h4
# oracle-disk: h1 16M
# oracle-disk: h2 16M
# oracle-disk: h3 16M
# oracle-disk: h4 16M
set -e
mkdir -p /tmp/t && cd /tmp/t && tar xf /dev/oracle/tools
export LD_LIBRARY_PATH=/tmp/t/lib
mkdir -p /run/lock/lvm /etc/lvm /run/lvm /tmp/save
conf='activation{udev_sync=0 udev_rules=0 monitoring=0} global{use_lvmpolld=0}'
dev='obtain_device_list_from_udev=0 use_devicesfile=0'
all="h1 h2 h3 h4"
lvm() { cmd=$1; shift; /tmp/t/lvm "$cmd" "--config=$conf devices{$dev}" "$@"; }
# lvmf HIDDEN CMD ARGS...: lvm with the disks named in HIDDEN ("h2 h3") filtered out.
lvmf() {
	hidden=$1 cmd=$2
	shift 2
	f=
	for g in $all; do
		case " $hidden " in *" $g "*) continue ;; esac
		f="$f\"a|^$(readlink -f /dev/oracle/$g)\$|\","
	done
	/tmp/t/lvm "$cmd" "--config=$conf devices{$dev global_filter=[$f\"r|.*|\"]}" "$@"
}
fill() { /tmp/t/dd if=/dev/urandom of="/dev/mapper/$1" bs=64K count="$2" seek="${3:-0}" oflag=direct status=none; }
# settled: 0 when every raid set is idle with its sync counts equal (health left aside unless
# $1 is "health", then every member must be A too) and every integrity device is done
# recalculating (its status shows "-" or the provided sectors as its position).
settled() {
	dmsetup status | awk -v health="$1" '
		$4 == "raid" { split($8, a, "/"); if ((health == "health" && $7 ~ /[^A]/) || a[1] != a[2] || $9 != "idle") n++ }
		$4 == "integrity" && $7 != "-" && $7 != $6 { n++ }
		END { exit n > 0 }'
}
# wait_raid [health]: wait (at most 300 s) until settled, saying how long it took.
wait_raid() {
	i=0
	until settled "$1"; do
		i=$((i + 1))
		[ $i -lt 300 ] || { echo "not settled after ${i}s"; return 0; }
		sleep 1
	done
	echo "settled after ${i}s"
}
lvs="r10 r1 ri"
sums() {
	for lv in "$@"; do
		[ -e /dev/mapper/hvg-$lv ] || continue
		if s=$(sha256sum < /dev/mapper/hvg-$lv 2>/dev/null); then echo "hvg-$lv ${s%% *}"; else echo "hvg-$lv unreadable"; fi
	done
}
record() {
	dmsetup ls
	dmsetup table
	dmsetup info -c -o name,uuid,attr,open
	dmsetup status
}
disks() { for g in $all; do readlink -f /dev/oracle/$g; done; }
G() { for g in "$@"; do readlink -f /dev/oracle/$g; done; }

lvm pvcreate -q $(disks)
lvm vgcreate -q -s 1M hvg $(disks)
echo "== lvcreate --type raid10 -m 2 -i 2"
rc=0; lvm lvcreate -q -y --type raid10 -m 2 -i 2 -I 64k -L 2M -n r10 hvg $(disks) 2>&1 || rc=$?
echo "exit $rc"
echo "== lvcreate --type raid10 -m 2"
rc=0; [ -e /dev/mapper/hvg-r10 ] || lvm lvcreate -q -y --type raid10 -m 2 -I 64k -L 2M -n r10 hvg $(disks) 2>&1 || rc=$?
echo "exit $rc"
lvm lvcreate -q -y --type raid1 -m 2 -L 2M -n r1 hvg $(G h1 h2 h3)
lvm lvcreate -q -y --type raid1 -m 1 -L 1M -n ri hvg $(G h3 h4)
echo "== initial sync"
wait_raid health
for lv in $lvs; do [ ! -e /dev/mapper/hvg-$lv ] || fill hvg-$lv 8 4; done
fill hvg-ri 16
wait_raid health
echo "== sha256 (before lvconvert)"
sums $lvs
echo "== lvconvert --raidintegrity y hvg/ri"
rc=0; lvm lvconvert -y --raidintegrity y hvg/ri 2>&1 || rc=$?
echo "exit $rc"
echo "== table after conversion"
dmsetup table | grep '^hvg-ri'
dmsetup status | grep '^hvg-ri'
wait_raid health
dmsetup status | grep '^hvg-ri'
echo "== sha256 (converted)"
sums ri
fill hvg-ri 4 2
wait_raid health
echo "== sha256 (converted, written)"
sums $lvs
echo "== metadata"
lvm vgcfgbackup -q -f /tmp/vg.txt hvg
grep -v 'creation_time\|creation_host\|^#\|^description\|^contents\|^version' /tmp/vg.txt
lvm vgchange -q -an hvg
echo "== vgchange -ay (converted, all PVs)"
dmesg -c > /dev/null
rc=0; lvm vgchange -ay hvg 2>&1 || rc=$?
echo "exit $rc"
record
echo "== sha256 (converted, all PVs)"
sums $lvs
echo "== settle (converted, all PVs)"
wait_raid health
dmsetup status
echo "== lvs (converted, all PVs)"
lvm lvs -a -o lv_name,segtype,lv_attr,raid_sync_action,sync_percent,integritymismatches hvg 2>&1 || true
echo "== dmesg (converted, all PVs)"
dmesg -c | grep -v '^device-mapper: uevent' || true
lvm vgchange -q -an hvg
for g in $all; do cat /dev/oracle/$g > /tmp/save/$g; done

for hidden in "h2" "h2 h3" "h1 h2 h3"; do
	for mode in degraded complete partial; do
		echo "== vgchange -ay --activationmode $mode ($hidden missing)"
		dmesg -c > /dev/null
		rc=0; lvmf "$hidden" vgchange -ay --activationmode $mode hvg 2>&1 || rc=$?
		echo "exit $rc"
		record
		echo "== sha256 ($mode, $hidden missing)"
		sums $lvs
		echo "== dmesg ($mode, $hidden missing)"
		dmesg -c | grep -v '^device-mapper: uevent' || true
		rc=0; lvmf "$hidden" vgchange -q -an --activationmode partial hvg 2>&1 || rc=$?
		echo "exit $rc"
		dmsetup ls
	done
done

echo "== writeback: vgchange -ay (h2 h3 missing)"
rc=0; lvmf "h2 h3" vgchange -ay hvg 2>&1 || rc=$?
echo "exit $rc"
record
for lv in r10 r1 ri; do
	[ -e /dev/mapper/hvg-$lv ] || continue
	yes "gdmsetup degraded3 $lv" | head -c 131072 > /tmp/pat
	/tmp/t/dd if=/tmp/pat of=/dev/mapper/hvg-$lv bs=64K seek=1 oflag=direct status=none
done
echo "== writeback: status (written, h2 h3 missing)"
dmsetup status
echo "== sha256 (written, h2 h3 missing)"
sums $lvs
rc=0; lvmf "h2 h3" vgchange -q -an --activationmode partial hvg 2>&1 || rc=$?
echo "exit $rc"
echo "== put back: vgchange -ay (all PVs)"
dmesg -c > /dev/null
rc=0; lvm vgchange -ay hvg 2>&1 || rc=$?
echo "exit $rc"
record
echo "== put back: sha256"
sums $lvs
echo "== put back: settle"
wait_raid
dmsetup status
echo "== put back: sha256 (settled)"
sums $lvs
echo "== put back: lvs"
lvm lvs -a -o lv_name,segtype,lv_attr,raid_sync_action,sync_percent,lv_health_status hvg 2>&1 || true
echo "== put back: dmesg"
dmesg -c | grep -v '^device-mapper: uevent' || true
lvm vgchange -q -an hvg
for g in $all; do cat /tmp/save/$g > /dev/oracle/$g; done
sync
echo "== end"

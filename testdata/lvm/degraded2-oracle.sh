#!/bin/sh
# Kernel oracle: LVM2 (the host's lvm binary on the "tools" disk) activates raid6, raid10,
# raid0 and raid4 LVs with one, two and three PVs of their VG missing. VG "gvg" on g1..g5 with
# 1 MiB extents: r6 a raid6 over the five, r10 a raid10 over g1..g4 (mirror pairs g1+g2 and
# g3+g4), r0 a raid0 (--type raid0) over g2 and g3, r4 a raid4 over g1..g3; written, in sync.
# The disks are saved in the guest (and put back at the end: the fixtures are the disks as
# they were here), then with g2, g2+g3, g1+g2 and g1+g2+g3 hidden from lvm by a device filter
# the VG is activated in each activation mode, one after the other on the same disks. Then
# with g2 hidden the VG is activated, r6, r10 and r4 written (a pattern: `yes "gdmsetup
# degraded2 LV" | head -c 131072` at byte 65536), deactivated, and activated with g2 back.
# The transcript records what each activation made (ls, table, info, status), lvm2's messages
# and exit status, the SHA-256 of the LVs it activated ("unreadable" when a read fails), and
# for the put-back the status at once, once recovery is idle and after lvchange --refresh.
# Made by testdata/lvm/capture.sh degraded2 (TIMEOUT=900; which also keeps the disks).
# keep: g1 g2 g3 g4 g5
# oracle-disk: g1 16M
# oracle-disk: g2 16M
# oracle-disk: g3 16M
# oracle-disk: g4 16M
# oracle-disk: g5 16M
set -e
mkdir -p /tmp/t && cd /tmp/t && tar xf /dev/oracle/tools
export LD_LIBRARY_PATH=/tmp/t/lib
mkdir -p /run/lock/lvm /etc/lvm /run/lvm /tmp/save
conf='activation{udev_sync=0 udev_rules=0 monitoring=0} global{use_lvmpolld=0}'
dev='obtain_device_list_from_udev=0 use_devicesfile=0'
lvm() { cmd=$1; shift; /tmp/t/lvm "$cmd" "--config=$conf devices{$dev}" "$@"; }
# lvmf HIDDEN CMD ARGS...: lvm with the disks named in HIDDEN ("g2 g3") filtered out.
lvmf() {
	hidden=$1 cmd=$2
	shift 2
	f=
	for g in g1 g2 g3 g4 g5; do
		case " $hidden " in *" $g "*) continue ;; esac
		f="$f\"a|^$(readlink -f /dev/oracle/$g)\$|\","
	done
	/tmp/t/lvm "$cmd" "--config=$conf devices{$dev global_filter=[$f\"r|.*|\"]}" "$@"
}
fill() { /tmp/t/dd if=/dev/urandom of="/dev/mapper/$1" bs=64K count="$2" seek="${3:-0}" oflag=direct status=none; }
# raidstate: 0 when every raid set is idle with its sync counts equal (health left aside
# unless $1 is "health", then every member must be A too).
raidstate() {
	dmsetup status | awk -v health="$1" '
		$4 == "raid" { split($8, a, "/"); if ((health == "health" && $7 ~ /[^A]/) || a[1] != a[2] || $9 != "idle") n++ }
		END { exit n > 0 }'
}
# wait_raid [health]: wait (at most 300 s) for raidstate, saying how long it took.
wait_raid() {
	i=0
	until raidstate "$1"; do
		i=$((i + 1))
		[ $i -lt 300 ] || { echo "not settled after ${i}s"; return 0; }
		sleep 1
	done
	echo "settled after ${i}s"
}
lvs="r6 r10 r0 r4"
sums() {
	for lv in "$@"; do
		[ -e /dev/mapper/gvg-$lv ] || continue
		if s=$(sha256sum < /dev/mapper/gvg-$lv 2>/dev/null); then echo "gvg-$lv ${s%% *}"; else echo "gvg-$lv unreadable"; fi
	done
}
record() {
	dmsetup ls
	dmsetup table
	dmsetup info -c -o name,uuid,attr,open
	dmsetup status
}
disks() { for g in g1 g2 g3 g4 g5; do readlink -f /dev/oracle/$g; done; }

lvm pvcreate -q $(disks)
lvm vgcreate -q -s 1M gvg $(disks)
G() { for g in "$@"; do readlink -f /dev/oracle/$g; done; }
lvm lvcreate -q -y --type raid6 -i 3 -I 64k -L 3M -n r6 gvg $(G g1 g2 g3 g4 g5)
lvm lvcreate -q -y --type raid10 -i 2 -m 1 -I 64k -L 2M -n r10 gvg $(G g1 g2 g3 g4)
lvm lvcreate -q -y --type raid0 -i 2 -I 64k -L 2M -n r0 gvg $(G g2 g3)
lvm lvcreate -q -y --type raid4 -i 2 -I 64k -L 2M -n r4 gvg $(G g1 g2 g3)
echo "== initial sync"
wait_raid health
for lv in $lvs; do fill gvg-$lv 8 4; done
wait_raid health
echo "== sha256 (all PVs)"
sums $lvs
echo "== metadata"
lvm vgcfgbackup -q -f /tmp/vg.txt gvg
grep -v 'creation_time\|creation_host\|^#\|^description\|^contents\|^version' /tmp/vg.txt
lvm vgchange -q -an gvg
for g in g1 g2 g3 g4 g5; do cat /dev/oracle/$g > /tmp/save/$g; done

for hidden in "g2" "g2 g3" "g1 g2" "g1 g2 g3"; do
	for mode in degraded complete partial; do
		echo "== vgchange -ay --activationmode $mode ($hidden missing)"
		dmesg -c > /dev/null
		rc=0; lvmf "$hidden" vgchange -ay --activationmode $mode gvg 2>&1 || rc=$?
		echo "exit $rc"
		record
		echo "== sha256 ($mode, $hidden missing)"
		sums $lvs
		echo "== dmesg ($mode, $hidden missing)"
		dmesg -c | grep -v '^device-mapper: uevent' || true
		rc=0; lvmf "$hidden" vgchange -q -an --activationmode partial gvg 2>&1 || rc=$?
		echo "exit $rc"
		dmsetup ls
	done
done

echo "== writeback: vgchange -ay (g2 missing)"
rc=0; lvmf g2 vgchange -ay gvg 2>&1 || rc=$?
echo "exit $rc"
record
for lv in r6 r10 r4; do
	yes "gdmsetup degraded2 $lv" | head -c 131072 > /tmp/pat
	/tmp/t/dd if=/tmp/pat of=/dev/mapper/gvg-$lv bs=64K seek=1 oflag=direct status=none
done
echo "== writeback: status (written, g2 missing)"
dmsetup status
echo "== sha256 (written, g2 missing)"
sums r6 r10 r4
rc=0; lvmf g2 vgchange -q -an --activationmode partial gvg 2>&1 || rc=$?
echo "exit $rc"
echo "== put back: vgchange -ay (all PVs)"
dmesg -c > /dev/null
rc=0; lvm vgchange -ay gvg 2>&1 || rc=$?
echo "exit $rc"
record
echo "== put back: sha256"
sums $lvs
echo "== put back: lvs"
lvm lvs -a -o lv_name,segtype,lv_attr,raid_sync_action,sync_percent,lv_health_status gvg 2>&1 || true
echo "== put back: settle"
wait_raid
dmsetup status
echo "== put back: dmesg"
dmesg -c | grep -v '^device-mapper: uevent' || true
echo "== put back: lvchange --refresh"
rc=0; lvm lvchange --refresh gvg/r6 gvg/r10 gvg/r4 2>&1 || rc=$?
echo "exit $rc"
wait_raid health
dmsetup table
dmsetup status
echo "== put back: sha256 (refreshed)"
sums $lvs
echo "== put back: lvs (refreshed)"
lvm lvs -a -o lv_name,segtype,lv_attr,raid_sync_action,sync_percent,lv_health_status gvg 2>&1 || true
echo "== put back: dmesg (refreshed)"
dmesg -c | grep -v '^device-mapper: uevent' || true
lvm vgchange -q -an gvg
for g in g1 g2 g3 g4 g5; do cat /tmp/save/$g > /dev/oracle/$g; done
sync
echo "== end"

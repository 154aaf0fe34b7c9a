#!/bin/sh
# Kernel oracle: LVM2 (the host's lvm binary on the "tools" disk) activates a cached LV, a
# writecache LV and an old-style snapshot with the PV of their fast or COW part missing, and
# with the PV of their origin missing. VG "jvg" on j1..j3 with 1 MiB extents: cl a linear LV
# on j1 cached by a cache pool (data and metadata) on j2 (writethrough, no spare), wc a linear
# LV on j1 with a writecache on the cachevol wcfast on j2, os a linear LV on j1 with a
# snapshot osnap whose COW is on j2, plain a linear LV on j3; all written in part (the
# fixtures stay small). The disks are
# saved in the guest (and put back at the end: the fixtures are the disks as they were
# here), then with j2 and with j1 hidden from lvm by a device filter the VG is activated in
# each activation mode, one after the other on the same disks. The transcript records what
# each activation made (ls, table, info, status), lvm2's messages and exit status, the
# SHA-256 of the LVs it activated ("unreadable" when a read fails) and the kernel's messages.
# Made by testdata/lvm/capture.sh missing2 (ORACLE_ACCEL=tcg TIMEOUT=900; it keeps the disks).
# keep: j1 j2 j3
# oracle-disk: j1 16M
# oracle-disk: j2 16M
# oracle-disk: j3 16M
set -e
mkdir -p /tmp/t && cd /tmp/t && tar xf /dev/oracle/tools
export LD_LIBRARY_PATH=/tmp/t/lib
mkdir -p /run/lock/lvm /etc/lvm /run/lvm /tmp/save
conf='activation{udev_sync=0 udev_rules=0 monitoring=0} global{use_lvmpolld=0}'
dev='obtain_device_list_from_udev=0 use_devicesfile=0'
lvm() { cmd=$1; shift; /tmp/t/lvm "$cmd" "--config=$conf devices{$dev}" "$@"; }
# lvmf HIDDEN CMD ARGS...: lvm with the disks named in HIDDEN ("j2") filtered out.
lvmf() {
	hidden=$1 cmd=$2
	shift 2
	f=
	for g in j1 j2 j3; do
		case " $hidden " in *" $g "*) continue ;; esac
		f="$f\"a|^$(readlink -f /dev/oracle/$g)\$|\","
	done
	/tmp/t/lvm "$cmd" "--config=$conf devices{$dev global_filter=[$f\"r|.*|\"]}" "$@"
}
fill() { /tmp/t/dd if=/dev/urandom of="/dev/mapper/$1" bs=64K count="$2" seek="${3:-0}" oflag=direct status=none; }
lvs="cl wc os osnap plain"
sums() {
	for lv in "$@"; do
		[ -e /dev/mapper/jvg-$lv ] || continue
		# direct reads of 64 KiB, a cache chunk each: the cache's hit and miss counts, kept
		# in its metadata, do not depend on the page cache's readahead
		if /tmp/t/dd if=/dev/mapper/jvg-$lv of=/tmp/lv bs=64K iflag=direct status=none 2>/dev/null; then
			s=$(sha256sum < /tmp/lv)
			echo "jvg-$lv ${s%% *}"
		else
			echo "jvg-$lv unreadable"
		fi
	done
}
record() {
	dmsetup ls
	dmsetup table
	dmsetup info -c -o name,uuid,attr,open
	dmsetup status
}
G() { for g in "$@"; do readlink -f /dev/oracle/$g; done; }

lvm pvcreate -q $(G j1 j2 j3)
lvm vgcreate -q -s 1M jvg $(G j1 j2 j3)
lvm lvcreate -q -y -L 4M -n cl jvg $(G j1)
lvm lvcreate -q -y --type cache-pool --poolmetadataspare n -L 2M -n cpool jvg $(G j2)
lvm lvconvert -q -y --type cache --cachepool jvg/cpool jvg/cl
lvm lvcreate -q -y -L 4M -n wc jvg $(G j1)
lvm lvcreate -q -y -an -L 2M -n wcfast jvg $(G j2)
lvm lvconvert -q -y --type writecache --cachevol jvg/wcfast jvg/wc
lvm lvcreate -q -y -L 4M -n os jvg $(G j1)
fill jvg-os 8
lvm lvcreate -q -y -s -L 2M -n osnap jvg/os $(G j2)
lvm lvcreate -q -y -L 2M -n plain jvg $(G j3)
fill jvg-cl 8 2
fill jvg-wc 8 2
fill jvg-os 8 4
fill jvg-osnap 2 40
fill jvg-plain 4
echo "== sha256 (all PVs)"
sums $lvs
echo "== metadata"
lvm vgcfgbackup -q -f /tmp/vg.txt jvg
grep -v 'creation_time\|creation_host\|^#\|^description\|^contents\|^version' /tmp/vg.txt
lvm vgchange -q -an jvg
for g in j1 j2 j3; do cat /dev/oracle/$g > /tmp/save/$g; done

echo "== vgchange -ay (all PVs)"
rc=0; lvm vgchange -ay jvg 2>&1 || rc=$?
echo "exit $rc"
record
echo "== sha256 (all PVs, activated)"
sums $lvs
lvm vgchange -q -an jvg

for hidden in "j2" "j1"; do
	for mode in degraded complete partial; do
		echo "== vgchange -ay --activationmode $mode ($hidden missing)"
		dmesg -c > /dev/null
		rc=0; lvmf "$hidden" vgchange -ay --activationmode $mode jvg 2>&1 || rc=$?
		echo "exit $rc"
		record
		echo "== sha256 ($mode, $hidden missing)"
		sums $lvs
		echo "== dmesg ($mode, $hidden missing)"
		dmesg -c | grep -v '^device-mapper: uevent' || true
		rc=0; lvmf "$hidden" vgchange -q -an --activationmode partial jvg 2>&1 || rc=$?
		echo "exit $rc"
		dmsetup ls
		for lv in $(dmsetup ls | awk '$1 != "No" {print $1}'); do dmsetup remove "$lv" 2>&1 || true; done
	done
done

echo "== put back: vgchange -ay (all PVs)"
dmesg -c > /dev/null
rc=0; lvm vgchange -ay jvg 2>&1 || rc=$?
echo "exit $rc"
record
echo "== put back: sha256"
sums $lvs
echo "== put back: dmesg"
dmesg -c | grep -v '^device-mapper: uevent' || true
lvm vgchange -q -an jvg
for g in j1 j2 j3; do cat /tmp/save/$g > /dev/oracle/$g; done
sync
echo "== end"

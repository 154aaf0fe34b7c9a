#!/bin/sh
# Kernel oracle: LVM2 (the host's lvm binary, carried in on the "tools" disk) builds volume groups
# on three disks, writes data into each kind of LV, then activates them afresh; the transcript
# records the tables, names and UUIDs that activation loaded and every LV's SHA-256.
# Made by testdata/lvm/capture.sh (which also keeps the disks as fixtures).
# keep: pv1 pv2 mbr gpt
#   pv1, pv2: whole-disk PVs of VG "vg"; mbr: a DOS partition table, PV in partition 2 (VG
#   "other-vg"); gpt: a GPT, PV in partition 2 (also in "other-vg").
# oracle-disk: pv1 64M
# oracle-disk: pv2 64M
set -e
mkdir -p /tmp/t && cd /tmp/t && tar xf /dev/oracle/tools
export LD_LIBRARY_PATH=/tmp/t/lib
mkdir -p /run/lock/lvm /etc/lvm /run/lvm
C='--config=activation{udev_sync=0 udev_rules=0 monitoring=0} devices{obtain_device_list_from_udev=0 use_devicesfile=0} global{use_lvmpolld=0}'
lvm() { cmd=$1; shift; /tmp/t/lvm "$cmd" "$C" "$@"; }
blockdev --rereadpt /dev/oracle/mbr 2>/dev/null || true
blockdev --rereadpt /dev/oracle/gpt 2>/dev/null || true
MBR2=$(readlink -f /dev/oracle/mbr)2
GPT2=$(readlink -f /dev/oracle/gpt)2
fill() { /tmp/t/dd if=/dev/urandom of="/dev/mapper/$1" bs=64K count="$2" seek="${3:-0}" oflag=direct status=none; }

lvm pvcreate -q /dev/oracle/pv1 /dev/oracle/pv2 "$MBR2" "$GPT2"
lvm vgcreate -q vg /dev/oracle/pv1 /dev/oracle/pv2
lvm lvcreate -q -L 8M -n lin vg /dev/oracle/pv1
lvm lvcreate -q -i 2 -I 16k -L 8M -n str vg
lvm lvcreate -q --type thin-pool -L 24M -n pool vg
lvm lvcreate -q -V 32M -T vg/pool -n thin1
lvm lvcreate -q --type thin-pool -L 8M -c 128k -Zn --discards nopassdown -n pool2 vg
lvm lvcreate -q -V 16M -T vg/pool2 -n thin2
lvm lvcreate -q --type zero -L 4M -n zeros vg
lvm lvcreate -q --type error -L 4M -n errs vg
lvm lvextend -q -L +4M vg/lin /dev/oracle/pv2
fill vg-lin 4
fill vg-lin 4 126
fill vg-str 4 15
fill vg-thin1 4
fill vg-thin1 2 300
fill vg-thin2 3
lvm lvcreate -q -s vg/thin1 -n snap1
fill vg-thin1 1 1
lvm vgcreate -q other-vg "$MBR2" "$GPT2"
lvm lvcreate -q -L 60M -n my-lv other-vg
fill other--vg-my--lv 4 574
lvm lvcreate -q --type thin-pool -L 4M -n pool3 other-vg
lvm vgchange -q -an vg other-vg
echo "== vgchange -ay"
lvm vgchange -q -ay vg other-vg
dmsetup ls
dmsetup table
dmsetup info -c -o name,uuid,attr,open
echo "== lvchange -ay -K vg/snap1"
lvm lvchange -q -ay -K vg/snap1
dmsetup table vg-snap1
dmsetup info -c -o name,uuid,attr,open vg-snap1
echo "== lvs"
lvm lvs -a -o vg_name,lv_name,lv_attr,segtype,seg_start_pe,seg_size_pe,devices --units s --noheadings
echo "== sha256"
for lv in vg-lin vg-str vg-thin1 vg-snap1 vg-thin2 vg-zeros other--vg-my--lv; do
	echo "$lv $(sha256sum < /dev/mapper/$lv | cut -c1-64)"
done
echo "== metadata"
lvm vgcfgbackup -q -f /tmp/vg.txt vg
lvm vgcfgbackup -q -f /tmp/other.txt other-vg
grep -v 'creation_time\|creation_host\|^#\|^description\|^contents\|^version' /tmp/vg.txt /tmp/other.txt
lvm vgchange -q -an vg other-vg
dmsetup ls

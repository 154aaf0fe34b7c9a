#!/bin/sh
# Kernel oracle: LVM2 (the host's lvm binary on the "tools" disk) with one PV of a VG missing.
# VG "vg" on p1, p2, p3; p2 is then hidden from lvm by a device filter, and the VG is activated
# in lvm2's default (degraded) mode and in partial mode. The transcript records what each mode
# activated (ls, table, info) and lvm2's messages and exit status.
# Made by testdata/lvm/capture.sh partial (which also keeps the disks as fixtures).
# keep: p1 p2 p3
# oracle-disk: p1 32M
# oracle-disk: p2 32M
# oracle-disk: p3 32M
set -e
mkdir -p /tmp/t && cd /tmp/t && tar xf /dev/oracle/tools
export LD_LIBRARY_PATH=/tmp/t/lib
mkdir -p /run/lock/lvm /etc/lvm /run/lvm
C='--config=activation{udev_sync=0 udev_rules=0 monitoring=0} devices{obtain_device_list_from_udev=0 use_devicesfile=0} global{use_lvmpolld=0}'
lvm() { cmd=$1; shift; /tmp/t/lvm "$cmd" "$C" "$@"; }
P1=$(readlink -f /dev/oracle/p1)
P2=$(readlink -f /dev/oracle/p2)
P3=$(readlink -f /dev/oracle/p3)
# Without p2: lvm sees only p1 and p3 (and no other name of p2).
F="--config=activation{udev_sync=0 udev_rules=0 monitoring=0} devices{obtain_device_list_from_udev=0 use_devicesfile=0 global_filter=[\"a|^$P1\$|\",\"a|^$P3\$|\",\"r|.*|\"]} global{use_lvmpolld=0}"
lvmf() { cmd=$1; shift; /tmp/t/lvm "$cmd" "$F" "$@"; }
fill() { /tmp/t/dd if=/dev/urandom of="/dev/mapper/$1" bs=64K count="$2" seek="${3:-0}" oflag=direct status=none; }

lvm pvcreate -q "$P1" "$P2" "$P3"
lvm vgcreate -q vg "$P1" "$P2" "$P3"
lvm lvcreate -q -L 4M -n whole vg "$P1"
lvm lvcreate -q -L 4M -n spans vg "$P1"
lvm lvextend -q -L +4M vg/spans "$P2"
lvm lvcreate -q -i 2 -I 64k -L 8M -n str vg "$P2" "$P3"
lvm lvcreate -q -L 4M -n onp2 vg "$P2"
lvm lvcreate -q --type thin-pool -L 8M -n pool vg "$P3"
lvm lvcreate -q -V 16M -T vg/pool -n thin
fill vg-whole 2 1
fill vg-spans 2 63
fill vg-str 3 31
fill vg-onp2 1
fill vg-thin 2 100
for lv in whole spans str onp2 thin; do echo "vg-$lv $(sha256sum < /dev/mapper/vg-$lv | cut -c1-64)"; done
lvm vgchange -q -an vg
echo "== vgchange -ay (p2 missing)"
rc=0; lvmf vgchange -ay vg 2>&1 || rc=$?
echo "exit $rc"
dmsetup ls
dmsetup table
dmsetup info -c -o name,uuid,attr,open
echo "== lvchange -ay vg/spans (p2 missing)"
rc=0; lvmf lvchange -ay vg/spans 2>&1 || rc=$?
echo "exit $rc"
lvmf vgchange -q -an vg 2>&1
dmsetup ls
echo "== vgchange -ay --activationmode partial (p2 missing)"
rc=0; lvmf vgchange -ay --activationmode partial vg 2>&1 || rc=$?
echo "exit $rc"
dmsetup ls
dmsetup table
dmsetup info -c -o name,uuid,attr,open
echo "== sha256"
for lv in whole thin; do echo "vg-$lv $(sha256sum < /dev/mapper/vg-$lv | cut -c1-64)"; done
echo "== read spans"
/tmp/t/dd if=/dev/mapper/vg-spans of=/dev/null bs=64K iflag=direct 2>&1 | head -3 || true
echo "== lvs (p2 missing)"
lvmf lvs -a -o vg_name,lv_name,lv_attr,segtype,devices --noheadings 2>&1 || true
rc=0; lvmf vgchange -q -an --activationmode partial vg 2>&1 || rc=$?
echo "exit $rc"
dmsetup ls

#!/bin/sh
# Kernel oracle, first half of the pool-check scenario (poolcheck-oracle.sh is the second): the
# host's lvm2 2.03.16 builds VG "kvg" on k1 and k2 with 1 MiB extents: a thin pool "pool" on k1
# with thin volumes thin1 and thin2, a linear LV "lin" on k2, and "lv" on k1 cached through the
# cache pool "cpool" on k2 (writethrough, smq). Data is written, the VG deactivated; the
# transcript keeps lvs and the tables of the metadata LVs (where they lie on the disks).
# testdata/lvm/poolcheck-damage.sh then makes the damaged copies of the disks.
# Made by testdata/lvm/capture.sh poolcheck-make (which keeps the disks as fixtures).
# keep: k1 k2
# oracle-disk: k1 32M
# oracle-disk: k2 32M
set -e
mkdir -p /tmp/t && cd /tmp/t && tar xf /dev/oracle/tools
export LD_LIBRARY_PATH=/tmp/t/lib
mkdir -p /run/lock/lvm /etc/lvm /run/lvm
K1=$(readlink -f /dev/oracle/k1)
K2=$(readlink -f /dev/oracle/k2)
F="--config=activation{udev_sync=0 udev_rules=0 monitoring=0} devices{obtain_device_list_from_udev=0 use_devicesfile=0 global_filter=[\"a|^$K1\$|\",\"a|^$K2\$|\",\"r|.*|\"]} global{use_lvmpolld=0}"
lvm() { cmd=$1; shift; /tmp/t/lvm "$cmd" "$F" "$@"; }
fill() { /tmp/t/dd if=/dev/urandom of="/dev/mapper/$1" bs=64K count="$2" seek="${3:-0}" oflag=direct status=none; }

lvm pvcreate -q "$K1" "$K2"
lvm vgcreate -q -s 1M kvg "$K1" "$K2"
lvm lvcreate -q --type thin-pool -L 8M -n pool kvg "$K1"
lvm lvcreate -q -V 8M -T kvg/pool -n thin1
lvm lvcreate -q -V 8M -T kvg/pool -n thin2
fill kvg-thin1 2
fill kvg-thin1 1 50
fill kvg-thin2 1 3
lvm lvcreate -q -L 2M -n lin kvg "$K2"
fill kvg-lin 1 5
lvm lvcreate -q -L 4M -n lv kvg "$K1"
fill kvg-lv 2
lvm lvcreate -q --type cache-pool -L 4M -n cpool kvg "$K2"
lvm lvconvert -q -y --type cache --cachepool kvg/cpool kvg/lv
fill kvg-lv 1 40
echo "== tables"
dmsetup table | sort
echo "== lvs"
lvm lvs -a -o lv_name,lv_attr,seg_pe_ranges,transaction_id --noheadings
lvm vgchange -q -an kvg
echo "== end"
dmsetup ls

#!/bin/sh
# Kernel oracle: lvm2 2.03.16 activates VG vg (cache and writecache LVs, a thin pool on a cached
# data LV) from images that gdmsetup activated, wrote and deactivated with its caches dirty
# (testdata/lvm/cache-gdm.sh makes them and runs this through capture.sh with FROM=); lvm2
# runs cache_check on every cache's metadata before loading it. The transcript records the
# tables and status loaded, each LV's SHA-256 and the caches' used blocks as found, then the
# status once the idle caches have written their dirty blocks back and the writeback caches'
# origins' SHA-256 (their LVs': the kernel took gdmsetup's dirty blocks as dirty).
# oracle-disk: c1 64M
# oracle-disk: c2 64M
set -e
mkdir -p /tmp/t && cd /tmp/t && tar xf /dev/oracle/tools
export LD_LIBRARY_PATH=/tmp/t/lib
mkdir -p /run/lock/lvm /etc/lvm /run/lvm
C='--config=activation{udev_sync=0 udev_rules=0 monitoring=0} devices{obtain_device_list_from_udev=0 use_devicesfile=0} global{use_lvmpolld=0}'
lvm() { cmd=$1; shift; /tmp/t/lvm "$cmd" "$C" "$@"; }
counts() { awk '$4 == "cache" {print $1, $8} $4 == "writecache" {print $1, $6, $7}'; }
dmesg -c >/dev/null
echo "== vgchange -ay"
lvm vgchange -q -ay vg
dmsetup status >/tmp/status
dmsetup table
cat /tmp/status
echo "== kernel messages"
dmesg -c | grep -iE 'cache|device-mapper' || true
echo "== sha256"
for lv in lv1 lv2 lv3 lv4 lv5 thin1 pool_tdata; do
	echo "vg-$lv $(sha256sum < /dev/mapper/vg-$lv | cut -c1-64)"
done
counts </tmp/status
echo "== idle"
sleep 3
dmsetup status
echo "== origins after writeback"
for lv in lv2 lv4 pool_tdata; do
	echo "vg-$lv $(sha256sum < /dev/mapper/vg-${lv}_corig | cut -c1-64)"
done
echo "== lvs"
lvm lvs -a -o vg_name,lv_name,lv_attr,data_percent,cache_dirty_blocks --noheadings
lvm vgchange -q -an vg
dmsetup ls

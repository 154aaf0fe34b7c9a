#!/bin/sh
# Kernel oracle: LVM2 (the host's lvm binary, carried in on the "tools" disk) builds cache and
# writecache LVs on two disks (origins on c1, caches on c2): dm-cache through cache pools
# (writethrough with the defaults, writeback with a 128k chunk, smq and migration_threshold,
# passthrough), dm-cache through a cachevol (writeback), dm-writecache through a cachevol with
# settings, and a thin pool whose data LV is cached. Data is written before and after each
# conversion (whole cache blocks, so a writeback cache takes them as dirty blocks), the VG is
# deactivated and activated afresh: the whole VG, then single LVs. The transcript records the
# tables, names, UUIDs, flags and status that activation loaded and every device's SHA-256.
# The disks are copied while every device is suspended with its caches dirty (lv2: 8 blocks,
# lv4: 16, pool_tdata: 8; the writecache lv5 holds 256 blocks its origin lacks) and put back
# after lvm2's deactivation (by then the idle caches had written their dirty blocks back), so
# the first activation starts from dirty caches (which write their dirty blocks back before
# lvm2 has finished: its status shows them clean), and at the end, so the fixtures are that
# state. Later activations start where the one before left the caches.
# Made by testdata/lvm/capture.sh cache (which also keeps the disks as fixtures).
# keep: c1 c2
# oracle-disk: c1 64M
# oracle-disk: c2 64M
set -e
mkdir -p /tmp/t && cd /tmp/t && tar xf /dev/oracle/tools
export LD_LIBRARY_PATH=/tmp/t/lib
mkdir -p /run/lock/lvm /etc/lvm /run/lvm
C='--config=activation{udev_sync=0 udev_rules=0 monitoring=0} devices{obtain_device_list_from_udev=0 use_devicesfile=0} global{use_lvmpolld=0}'
lvm() { cmd=$1; shift; /tmp/t/lvm "$cmd" "$C" "$@"; }
# fill LV BLOCKSIZE COUNT [SEEK]: random blocks written with O_DIRECT.
fill() { /tmp/t/dd if=/dev/urandom of="/dev/mapper/$1" bs="$2" count="$3" seek="${4:-0}" oflag=direct status=none; }
show() {
	dmsetup ls
	dmsetup table
	dmsetup info -c -o name,uuid,attr,open
	dmsetup status
}
sums() {
	for d in $(dmsetup ls | cut -f1 | sort); do
		echo "$d $(sha256sum < /dev/mapper/$d 2>/dev/null | cut -c1-64)"
	done
}
try() { "$@" || echo "== FAILED ($?): $*"; }

lvm pvcreate -q /dev/oracle/c1 /dev/oracle/c2
lvm vgcreate -q -s 1M vg /dev/oracle/c1 /dev/oracle/c2
# 1. A cache pool with lvm2's defaults (writethrough, smq) on an origin.
lvm lvcreate -q -L 8M -n lv1 vg /dev/oracle/c1
fill vg-lv1 64K 8
lvm lvcreate -q --type cache-pool -L 4M -n cpool1 vg /dev/oracle/c2
try lvm lvconvert -q -y --type cache --cachepool vg/cpool1 vg/lv1
fill vg-lv1 64K 16 8
# 2. A plain LV made a cache pool (128k chunks), writeback, smq, a migration threshold.
lvm lvcreate -q -L 8M -n lv2 vg /dev/oracle/c1
fill vg-lv2 64K 8
lvm lvcreate -q -L 4M -n cpool2 vg /dev/oracle/c2
try lvm lvconvert -q -y --type cache-pool --chunksize 128k vg/cpool2
try lvm lvconvert -q -y --type cache --cachepool vg/cpool2 --cachemode writeback --cachepolicy smq --cachesettings migration_threshold=4096 vg/lv2
# 3. Passthrough.
lvm lvcreate -q -L 4M -n lv3 vg /dev/oracle/c1
fill vg-lv3 64K 8
lvm lvcreate -q --type cache-pool -L 2M -n cpool3 vg /dev/oracle/c2
try lvm lvconvert -q -y --type cache --cachepool vg/cpool3 --cachemode passthrough vg/lv3
fill vg-lv3 64K 4 2
# 4. dm-cache through a cachevol, writeback.
lvm lvcreate -q -L 8M -n lv4 vg /dev/oracle/c1
fill vg-lv4 64K 8
lvm lvcreate -q -an -L 4M -n fast4 vg /dev/oracle/c2
try lvm lvconvert -q -y --type cache --cachevol vg/fast4 --cachemode writeback vg/lv4
# 5. dm-writecache through a cachevol, with settings.
lvm lvcreate -q -L 8M -n lv5 vg /dev/oracle/c1
fill vg-lv5 64K 8
lvm lvcreate -q -an -L 4M -n fast5 vg /dev/oracle/c2
try lvm lvconvert -q -y --type writecache --cachevol vg/fast5 --cachesettings 'high_watermark=60 writeback_jobs=64' vg/lv5
# 6. A thin pool whose data LV is cached (writeback) with a thin volume.
lvm lvcreate -q --type thin-pool -L 8M -n pool vg /dev/oracle/c1
lvm lvcreate -q -V 8M -T vg/pool -n thin1
fill vg-thin1 64K 16
lvm lvcreate -q --type cache-pool -L 4M -n cpool6 vg /dev/oracle/c2
try lvm lvconvert -q -y --type cache --cachepool vg/cpool6 --cachemode writeback vg/pool
# Dirty data: whole cache blocks written last, each cache suspended at once (within the
# second after which an idle smq cache writes its dirty blocks back): dm-cache's suspend
# commits the dirty bitset with a clean shutdown, so the disks copied while every device is
# suspended are what a deactivation as quick as the writes would leave.
try fill vg-lv5 64K 16 3
try fill vg-lv2 128K 8 10
dmsetup suspend vg-lv2
try fill vg-lv4 64K 16 20
dmsetup suspend vg-lv4
try fill vg-thin1 64K 8 70
dmsetup suspend vg-thin1 vg-pool-tpool vg-pool_tdata
dmsetup suspend vg-lv5 vg-lv1 vg-lv3
echo "== suspended"
dmsetup status
/tmp/t/dd if=/dev/oracle/c1 of=/tmp/c1.img bs=1M status=none
/tmp/t/dd if=/dev/oracle/c2 of=/tmp/c2.img bs=1M status=none
dmsetup resume vg-pool_tdata vg-pool-tpool vg-thin1 vg-lv1 vg-lv2 vg-lv3 vg-lv4 vg-lv5
sleep 3
echo "== idle"
dmsetup status
lvm vgchange -q -an vg
dmsetup ls
/tmp/t/dd if=/tmp/c1.img of=/dev/oracle/c1 bs=1M conv=fsync status=none
/tmp/t/dd if=/tmp/c2.img of=/dev/oracle/c2 bs=1M conv=fsync status=none
echo "== metadata"
lvm vgcfgbackup -q -f /tmp/vg.txt vg
grep -v 'creation_time\|creation_host\|^#\|^description\|^contents\|^version' /tmp/vg.txt
echo "== lvs"
lvm lvs -a -o vg_name,lv_name,lv_attr,segtype,pool_lv,origin,cache_mode,cache_policy,cache_settings,chunk_size,seg_start_pe,seg_size_pe,devices --units s --noheadings

echo "== vgchange -ay"
lvm vgchange -q -ay vg
show
echo "== sha256"
sums
lvm lvs -a -o vg_name,lv_name,lv_attr,data_percent,copy_percent,cache_dirty_blocks --noheadings
sleep 3
echo "== idle after activation"
dmsetup status
lvm vgchange -q -an vg
dmsetup ls
echo "== lvchange -ay vg/lv2"
try lvm lvchange -q -ay vg/lv2
show
lvm vgchange -q -an vg
echo "== lvchange -ay vg/lv4"
try lvm lvchange -q -ay vg/lv4
show
lvm vgchange -q -an vg
echo "== lvchange -ay vg/lv5"
try lvm lvchange -q -ay vg/lv5
show
lvm vgchange -q -an vg
echo "== lvchange -ay vg/thin1"
try lvm lvchange -q -ay vg/thin1
show
lvm vgchange -q -an vg
echo "== lvchange -ay vg/lv1"
try lvm lvchange -q -ay vg/lv1
show
lvm vgchange -q -an vg
echo "== lvchange -ay vg/cpool1"
try lvm lvchange -q -ay vg/cpool1
dmsetup ls
lvm vgchange -q -an vg
echo "== end"
dmsetup ls
/tmp/t/dd if=/tmp/c1.img of=/dev/oracle/c1 bs=1M conv=fsync status=none
/tmp/t/dd if=/tmp/c2.img of=/dev/oracle/c2 bs=1M conv=fsync status=none

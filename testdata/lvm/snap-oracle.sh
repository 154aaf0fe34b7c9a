#!/bin/sh
# Kernel oracle: LVM2 (the host's lvm binary, carried in on the "tools" disk) builds old-style
# (COW) snapshots, one of them merging, and thin volumes with an external origin on two disks,
# writes data into origins and snapshots, then activates them afresh: the whole VG, then only a
# snapshot, only an origin, only an external-origin thin volume. The transcript records the
# tables, names, UUIDs, flags and status that activation loaded and every device's SHA-256.
# The disks are put back as they were before the first activation (the kernel's merge changes
# them), so the fixtures are what that activation started from.
# Made by testdata/lvm/capture.sh snap (which also keeps the disks as fixtures).
# keep: s1 s2
# oracle-disk: s1 64M
# oracle-disk: s2 64M
set -e
mkdir -p /tmp/t && cd /tmp/t && tar xf /dev/oracle/tools
export LD_LIBRARY_PATH=/tmp/t/lib
mkdir -p /run/lock/lvm /etc/lvm /run/lvm
C='--config=activation{udev_sync=0 udev_rules=0 monitoring=0} devices{obtain_device_list_from_udev=0 use_devicesfile=0} global{use_lvmpolld=0}'
lvm() { cmd=$1; shift; /tmp/t/lvm "$cmd" "$C" "$@"; }
fill() { /tmp/t/dd if=/dev/urandom of="/dev/mapper/$1" bs=64K count="$2" seek="${3:-0}" oflag=direct status=none; }
show() {
	dmsetup ls
	dmsetup table
	dmsetup info -c -o name,uuid,attr,open
	dmsetup status
}

lvm pvcreate -q /dev/oracle/s1 /dev/oracle/s2
lvm vgcreate -q vg /dev/oracle/s1 /dev/oracle/s2
# An origin over two segments, a snapshot with the default chunk and one with 64k chunks.
lvm lvcreate -q -L 8M -n lin vg /dev/oracle/s1
lvm lvextend -q -L +4M vg/lin /dev/oracle/s2
fill vg-lin 8
fill vg-lin 4 150
lvm lvcreate -q -s -L 8M -n snap vg/lin
fill vg-lin 2 4
fill vg-snap 2 100
lvm lvcreate -q -s -L 4M -c 64k -n snap2 vg/lin
fill vg-lin 1 150
fill vg-snap2 1 20
# A striped origin with a 16k-chunk snapshot.
lvm lvcreate -q -i 2 -I 16k -L 8M -n str vg
fill vg-str 4 10
lvm lvcreate -q -s -L 4M -c 16k -n snapstr vg/str
fill vg-str 2 11
# A snapshot whose merge into its (inactive) origin is pending.
lvm lvcreate -q -L 8M -n mlin vg
fill vg-mlin 4
lvm lvcreate -q -s -L 8M -n msnap vg/mlin
fill vg-msnap 2 1
fill vg-mlin 1 20
lvm lvchange -q -an vg/mlin
lvm lvconvert -q --merge vg/msnap
# Thin volumes with an external origin (lvm2 takes a read-only, inactive LV), two sharing it.
lvm lvcreate -q -L 4M -n eo vg
fill vg-eo 4
lvm lvchange -q -an vg/eo
lvm lvchange -q -pr vg/eo
lvm lvcreate -q --type thin-pool -L 8M -n pool vg
lvm lvcreate -q -s --thinpool vg/pool vg/eo -n ext
fill vg-ext 2 3
lvm lvcreate -q -s --thinpool vg/pool vg/eo -n ext2
fill vg-ext2 1 40
lvm vgchange -q -an vg
dmsetup ls
/tmp/t/dd if=/dev/oracle/s1 of=/tmp/s1.img bs=1M status=none
/tmp/t/dd if=/dev/oracle/s2 of=/tmp/s2.img bs=1M status=none
echo "== metadata"
lvm vgcfgbackup -q -f /tmp/vg.txt vg
grep -v 'creation_time\|creation_host\|^#\|^description\|^contents\|^version' /tmp/vg.txt
echo "== lvs"
lvm lvs -a -o vg_name,lv_name,lv_attr,segtype,origin,pool_lv,seg_start_pe,seg_size_pe,devices --units s --noheadings

echo "== vgchange -ay"
lvm vgchange -q -ay --poll n vg
dmsetup ls
dmsetup table
dmsetup info -c -o name,uuid,attr,open
echo "== merged"
i=0
while [ $i -lt 300 ]; do
	set -- $(dmsetup status vg-mlin)
	[ "$3" = snapshot-merge ] || break
	[ "$(echo "$4" | cut -d/ -f1)" = "$5" ] && break
	sleep 0.2
	i=$((i + 1))
done
dmsetup status
echo "== sha256"
for d in $(dmsetup ls | cut -f1 | sort); do
	echo "$d $(sha256sum < /dev/mapper/$d 2>/dev/null | cut -c1-64)"
done
lvm lvs -a -o vg_name,lv_name,lv_attr,origin,data_percent,snap_percent --noheadings
lvm vgchange -q -an vg
dmsetup ls

echo "== lvchange -ay vg/snap"
lvm lvchange -q -y -ay vg/snap
show
lvm vgchange -q -an vg
echo "== lvchange -ay vg/lin"
lvm lvchange -q -y -ay vg/lin
show
lvm vgchange -q -an vg
echo "== lvchange -ay vg/ext"
lvm lvchange -q -y -ay vg/ext
show
lvm vgchange -q -an vg
echo "== lvchange -ay vg/eo"
lvm lvchange -q -y -ay vg/eo
show
lvm vgchange -q -an vg
echo "== lvchange -ay vg/snapstr"
lvm lvchange -q -y -ay vg/snapstr
show
lvm vgchange -q -an vg
echo "== lvchange -ay vg/mlin"
lvm lvchange -q -y -ay --poll n vg/mlin
show
lvm vgchange -q -an vg
echo "== end"
dmsetup ls
/tmp/t/dd if=/tmp/s1.img of=/dev/oracle/s1 bs=1M conv=fsync status=none
/tmp/t/dd if=/tmp/s2.img of=/dev/oracle/s2 bs=1M conv=fsync status=none

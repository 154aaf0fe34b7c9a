#!/bin/sh
# Kernel oracle: LVM2 (the host's lvm binary on the "tools" disk) activating thin pools whose
# metadata is behind the VG's, as a crash between lvm2's metadata commit and its pool messages
# leaves them. VG "tvg" on m1: pool "pool" holds thin1 and thin2 (written); lvm2 then makes
# thin3 and snap1 (a snapshot of thin1) and removes thin2; the disk is put back as it was
# before those three and the final VG text restored with the pool's transaction_id set to the
# old one + 1 and the three changes as pending messages (create thin3, create snap1, delete 2).
# Pool "pool2" holds thin21, its VG transaction_id raised by one with no message; pool "pool3"
# holds thin31, its VG transaction_id raised by two. The transcript records what activation
# does, with lvm2's messages and exit status, the tables, status and SHA-256.
# Made by testdata/lvm/capture.sh msg (which also keeps the disk as a fixture, as it was
# before the first activation).
# keep: m1
# oracle-disk: m1 64M
set -e
mkdir -p /tmp/t && cd /tmp/t && tar xf /dev/oracle/tools
export LD_LIBRARY_PATH=/tmp/t/lib
mkdir -p /run/lock/lvm /etc/lvm /run/lvm
fill() { /tmp/t/dd if=/dev/urandom of="/dev/mapper/$1" bs=64K count="$2" seek="${3:-0}" oflag=direct status=none; }
show() {
	dmsetup ls
	dmsetup table
	dmsetup info -c -o name,uuid,attr,open
	dmsetup status
}
M1=$(readlink -f /dev/oracle/m1)
F="--config=activation{udev_sync=0 udev_rules=0 monitoring=0} devices{obtain_device_list_from_udev=0 use_devicesfile=0 global_filter=[\"a|^$M1\$|\",\"r|.*|\"]} global{use_lvmpolld=0}"
lvm() { cmd=$1; shift; /tmp/t/lvm "$cmd" "$F" "$@"; }

lvm pvcreate -q "$M1"
lvm vgcreate -q tvg "$M1"
lvm lvcreate -q --type thin-pool -L 16M -n pool tvg
lvm lvcreate -q -V 16M -T tvg/pool -n thin1
lvm lvcreate -q -V 16M -T tvg/pool -n thin2
fill tvg-thin1 4
fill tvg-thin1 2 100
fill tvg-thin2 3 7
lvm lvcreate -q --type thin-pool -L 8M -n pool2 tvg
lvm lvcreate -q -V 8M -T tvg/pool2 -n thin21
fill tvg-thin21 2 5
lvm lvcreate -q --type thin-pool -L 8M -n pool3 tvg
lvm lvcreate -q -V 8M -T tvg/pool3 -n thin31
fill tvg-thin31 1 9
lvm vgchange -q -an tvg
lvm lvs -a -o lv_name,transaction_id,thin_id --noheadings
/tmp/t/dd if="$M1" of=/tmp/before.img bs=1M status=none
lvm lvcreate -q -V 16M -T tvg/pool -n thin3
lvm lvcreate -q -s tvg/thin1 -n snap1
lvm lvremove -q -y tvg/thin2
lvm vgchange -q -an tvg
lvm lvs -a -o lv_name,transaction_id,thin_id --noheadings
lvm vgcfgbackup -q -f /tmp/after.txt tvg
awk '
/type = "thin-pool"/ { pool = 1 }
pool && $1 == "transaction_id" {
	pool = 0
	if (++seen == 1) {
		# pool: back to its transaction before the three changes, + 1, with them as messages
		print "transaction_id = " $3 - 2
		print "message1 {\ncreate = \"thin3\"\n}\nmessage2 {\ncreate = \"snap1\"\n}\nmessage3 {\ndelete = 2\n}"
	} else
		print "transaction_id = " $3 + seen - 1
	next
}
{ print }' /tmp/after.txt >/tmp/pending.txt
/tmp/t/dd if=/tmp/before.img of="$M1" bs=1M conv=fsync status=none
lvm vgcfgrestore -q --force -f /tmp/pending.txt tvg 2>&1
echo "== metadata"
lvm vgcfgbackup -q -f /tmp/vg.txt tvg
grep -v 'creation_time\|creation_host\|^#\|^description\|^contents\|^version' /tmp/vg.txt
/tmp/t/dd if="$M1" of=/tmp/m1.img bs=1M status=none

echo "== vgchange -ay"
rc=0; lvm vgchange -ay tvg 2>&1 || rc=$?
echo "exit $rc"
show
echo "== lvchange -ay -K tvg/snap1"
rc=0; lvm lvchange -ay -K tvg/snap1 2>&1 || rc=$?
echo "exit $rc"
dmsetup ls
echo "== sha256"
for d in $(dmsetup ls | cut -f1 | sort); do
	echo "$d $(sha256sum < /dev/mapper/$d 2>/dev/null | cut -c1-64)"
done
lvm lvs -a -o lv_name,lv_attr,transaction_id,thin_id,data_percent,metadata_percent --noheadings 2>&1
lvm vgchange -q -an tvg 2>&1
echo "== vgchange -ay again"
rc=0; lvm vgchange -ay tvg 2>&1 || rc=$?
echo "exit $rc"
dmsetup ls
dmsetup status
lvm vgchange -q -an tvg 2>&1
echo "== end"
dmsetup ls
/tmp/t/dd if=/tmp/m1.img of="$M1" bs=1M conv=fsync status=none

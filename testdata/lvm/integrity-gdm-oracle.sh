#!/bin/sh
# Kernel oracle: lvm2 2.03.16 activates the raid LVs with integrity of VG ivg from images that
# gdmsetup activated, wrote and deactivated (testdata/lvm/integrity-gdm.sh makes them and runs
# this through capture.sh with FROM=); the transcript records what the kernel made of the sets
# at once (raid and integrity status, the kernel's messages), each LV's SHA-256, each image
# read whole through its integrity device (a tag gdmsetup wrote wrong fails the read and counts
# a mismatch), and what a check of every raid set finds.
# oracle-disk: i1 64M
# oracle-disk: i2 64M
# oracle-disk: i3 64M
set -e
mkdir -p /tmp/t && cd /tmp/t && tar xf /dev/oracle/tools
export LD_LIBRARY_PATH=/tmp/t/lib
mkdir -p /run/lock/lvm /etc/lvm /run/lvm
C='--config=activation{udev_sync=0 udev_rules=0 monitoring=0} devices{obtain_device_list_from_udev=0 use_devicesfile=0} global{use_lvmpolld=0}'
lvm() { cmd=$1; shift; /tmp/t/lvm "$cmd" "$C" "$@"; }
synced() {
	dmsetup status | awk '
		$4 == "raid" { split($8, a, "/"); if ($7 ~ /[^A]/ || a[1] != a[2] || $9 != "idle") n++ }
		$4 == "integrity" && $7 != "-" && $7 != $6 { n++ }
		END { exit n > 0 }'
}
waitsync() {
	i=0
	until synced; do
		i=$((i + 1))
		[ $i -lt 600 ] || { echo "not in sync:"; dmsetup status; exit 1; }
		sleep 1
	done
}
LVS="r1 rb r5 rc plain lin"
dmesg -c >/dev/null
echo "== vgchange -ay"
lvm vgchange -q -ay ivg
echo "== status at once"
dmsetup status | grep -E ' (raid|integrity) '
waitsync
echo "== sha256"
for lv in $LVS; do
	echo "ivg-$lv $(sha256sum < /dev/mapper/ivg-$lv | cut -c1-64)"
done
echo "== images"
for dev in $(dmsetup ls | awk '$1 ~ /_rimage_[0-9]+$/ {print $1}' | sort); do
	echo "$dev $(sha256sum < /dev/mapper/$dev | cut -c1-64)"
done
echo "== check"
for lv in r1 rb r5 rc; do
	lvm lvchange -q --syncaction check ivg/$lv
	sleep 1
	waitsync
done
dmsetup status | grep -E ' (raid|integrity) '
lvm lvs -a -o lv_name,raid_sync_action,raid_mismatch_count,integritymismatches --noheadings ivg
echo "== kernel messages"
dmesg -c | grep -iE 'md:|md/|raid|integrity|mismatch|checksum' | grep -v 'discard' || true
lvm vgchange -q -an ivg
dmsetup ls

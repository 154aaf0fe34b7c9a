#!/bin/sh
# Kernel oracle: lvm2 2.03.16 activates VG dvg from images gdmsetup activated with q2 missing,
# wrote into its degraded raid1 and raid5 LVs and deactivated (testdata/lvm/degraded-gdm.sh
# makes them and runs this through capture.sh with FROM=), q2 back; the transcript records the
# sets' status at once, md's messages, each LV's SHA-256 once recovered, and what a check of
# each set finds.
# oracle-disk: q1 24M
# oracle-disk: q2 24M
# oracle-disk: q3 24M
set -e
mkdir -p /tmp/t && cd /tmp/t && tar xf /dev/oracle/tools
export LD_LIBRARY_PATH=/tmp/t/lib
mkdir -p /run/lock/lvm /etc/lvm /run/lvm
C='--config=activation{udev_sync=0 udev_rules=0 monitoring=0} devices{obtain_device_list_from_udev=0 use_devicesfile=0} global{use_lvmpolld=0}'
lvm() { cmd=$1; shift; /tmp/t/lvm "$cmd" "$C" "$@"; }
synced() {
	dmsetup status | awk '
		$4 == "raid" { split($8, a, "/"); if ($7 ~ /[^A]/ || a[1] != a[2] || $9 != "idle") n++ }
		END { exit n > 0 }'
}
waitsync() {
	i=0
	until synced; do
		i=$((i + 1))
		[ $i -lt 300 ] || { echo "not in sync:"; dmsetup status; exit 1; }
		sleep 1
	done
}
dmesg -c >/dev/null
echo "== vgchange -ay"
lvm vgchange -q -ay dvg
echo "== status at once"
dmsetup status | grep ' raid '
waitsync
echo "== kernel messages"
dmesg -c | grep -iE 'md:|md/|raid|bitmap' | grep -v 'discard' || true
echo "== sha256"
for lv in r1 r5; do
	echo "dvg-$lv $(sha256sum < /dev/mapper/dvg-$lv | cut -c1-64)"
done
echo "== check"
for lv in r1 r5; do
	lvm lvchange -q --syncaction check dvg/$lv
	sleep 1
	waitsync
done
dmsetup status | grep ' raid '
lvm lvs -o lv_name,raid_sync_action,raid_mismatch_count --noheadings dvg
echo "== kernel messages after the check"
dmesg -c | grep -iE 'md:|md/|mismatch' | grep -v 'discard' || true
lvm vgchange -q -an dvg

#!/bin/sh
# Kernel oracle: lvm2 2.03.16 activates the raid and mirror LVs of VG raid-vg from images that
# gdmsetup activated, wrote and deactivated (testdata/lvm/raid-gdm.sh makes them and runs this
# through capture.sh with FROM=); the transcript records what the kernel made of the sets at
# once (status, md's messages), each LV's SHA-256, and the mismatches a check of every raid set
# finds.
# oracle-disk: r1 40M
# oracle-disk: r2 40M
# oracle-disk: r3 40M
# oracle-disk: r4 40M
# oracle-disk: r5 40M
set -e
mkdir -p /tmp/t && cd /tmp/t && tar xf /dev/oracle/tools
export LD_LIBRARY_PATH=/tmp/t/lib
mkdir -p /run/lock/lvm /etc/lvm /run/lvm
C='--config=activation{udev_sync=0 udev_rules=0 monitoring=0} devices{obtain_device_list_from_udev=0 use_devicesfile=0} global{use_lvmpolld=0}'
lvm() { cmd=$1; shift; /tmp/t/lvm "$cmd" "$C" "$@"; }
synced() {
	dmsetup status | awk '
		$4 == "raid" { split($8, a, "/"); if ($7 ~ /[^A]/ || a[1] != a[2] || $9 != "idle") n++ }
		$4 == "mirror" { split($(6 + $5), a, "/"); if (a[1] != a[2]) n++ }
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
LVS="r1 r0 r0m r4 r5 r6 r10 m mc thin"
dmesg -c >/dev/null
echo "== vgchange -ay"
lvm vgchange -q -ay raid-vg
echo "== status at once"
dmsetup status | grep -E ' (raid|mirror) '
waitsync
echo "== kernel messages"
dmesg -c | grep -iE 'md:|md/|raid|mirror|bitmap' | grep -v 'discard' || true
echo "== sha256"
for lv in $LVS; do
	echo "raid--vg-$lv $(sha256sum < /dev/mapper/raid--vg-$lv | cut -c1-64)"
done
for lv in m_mimage_0 m_mimage_1 mc_mimage_0 mc_mimage_1; do
	echo "raid--vg-$lv $(sha256sum < /dev/mapper/raid--vg-$lv | cut -c1-64)"
done
echo "== check"
for lv in r1 r0m r4 r5 r6 r10; do
	[ "$lv" = r0m ] && continue
	lvm lvchange -q --syncaction check raid-vg/$lv
	dmsetup status raid--vg-$lv
	sleep 1
	waitsync
done
dmsetup status | grep -E ' raid '
lvm lvs -o lv_name,raid_sync_action,raid_mismatch_count --noheadings raid-vg
echo "== kernel messages after the check"
dmesg -c | grep -iE 'md:|md/|mismatch' | grep -v 'discard' || true
lvm vgchange -q -an raid-vg
dmsetup ls

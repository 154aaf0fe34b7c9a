#!/bin/sh
# Kernel oracle: lvm2 2.03.16 activates VG hvg from images gdmsetup wrote (testdata/lvm/
# degraded3-gdm.sh makes them and runs this through capture.sh with FROM=): ri, a raid1 with
# integrity, written with every PV, then r1, a raid1 with three legs, written with h2 and h3
# missing; all four back. The transcript records the sets' status at once, md's messages, each
# LV's SHA-256 once recovered, and what a check of each set finds (raid and integrity
# mismatches).
# oracle-disk: h1 16M
# oracle-disk: h2 16M
# oracle-disk: h3 16M
# oracle-disk: h4 16M
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
		[ $i -lt 300 ] || { echo "not in sync:"; dmsetup status; exit 1; }
		sleep 1
	done
}
dmesg -c >/dev/null
echo "== vgchange -ay"
lvm vgchange -q -ay hvg
echo "== status at once"
dmsetup status | grep ' raid \| integrity '
waitsync
echo "== kernel messages"
dmesg -c | grep -iE 'md:|md/|raid|bitmap|integrity' | grep -v 'discard' || true
echo "== sha256"
for lv in r1 ri; do
	if s=$(sha256sum < /dev/mapper/hvg-$lv 2>/dev/null); then echo "hvg-$lv ${s%% *}"; else echo "hvg-$lv unreadable"; fi
done
echo "== check"
for lv in r1 ri; do
	lvm lvchange -q --syncaction check hvg/$lv
	sleep 1
	waitsync
done
dmsetup status | grep ' raid \| integrity '
lvm lvs -a -o lv_name,raid_sync_action,raid_mismatch_count,integritymismatches --noheadings hvg
echo "== kernel messages after the check"
dmesg -c | grep -iE 'md:|md/|mismatch|integrity' | grep -v 'discard' || true
lvm vgchange -q -an hvg

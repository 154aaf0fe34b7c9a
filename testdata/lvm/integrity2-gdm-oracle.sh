#!/bin/sh
# Kernel oracle: lvm2 2.03.16 activates VG nvg from images gdmsetup wrote (testdata/lvm/
# integrity2-gdm.sh makes them and runs this through capture.sh with FROM=): ri's integrity
# recalculation, interrupted in the kernel, resumed and finished by gdmsetup. The transcript
# records the status at once (no recalculation left), md's and dm-integrity's messages, each
# LV's SHA-256, a check of each set, and the total of raid and integrity mismatches.
# oracle-disk: n1 768M
# oracle-disk: n2 768M
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
lvm vgchange -q -ay nvg
echo "== status at once"
dmsetup status | grep ' raid \| integrity '
waitsync
echo "== kernel messages"
dmesg -c | grep -iE 'md:|md/|raid|bitmap|integrity' | grep -v 'discard' || true
echo "== sha256"
for lv in rb ri; do
	if s=$(sha256sum < /dev/mapper/nvg-$lv 2>/dev/null); then echo "nvg-$lv ${s%% *}"; else echo "nvg-$lv unreadable"; fi
done
echo "== check"
for lv in rb ri; do
	lvm lvchange -q --syncaction check nvg/$lv
	sleep 1
	waitsync
done
dmsetup status | grep ' raid \| integrity '
dmsetup status | awk '$4 == "raid" { r += $10 } $4 == "integrity" { i += $5 } END { print "mismatches: raid " r+0 " integrity " i+0 }'
echo "== kernel messages (check)"
dmesg -c | grep -iE 'md:|md/|raid|bitmap|integrity' | grep -v 'discard' || true
lvm vgchange -q -an nvg

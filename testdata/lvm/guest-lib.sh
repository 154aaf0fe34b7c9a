# guest-lib.sh: what the guest side of the reverse checks (*-gdm-oracle.sh) shares. capture.sh
# carries it on the tools disk; a script unpacks the disk into /tmp/t and sources
# /tmp/t/guest-lib.sh, which sets up the host's lvm2 (lvm runs it with the oracle's --config)
# and defines:
# waitsync: waits until every raid set is in sync and idle and no integrity device is
#   recalculating (at most 300 s).
# kernel_reads VG LV...: lvm2 activates VG; the transcript records the sets' status at once,
#   the kernel's messages, each LV's SHA-256 once in sync ("unreadable" if a read fails), then
#   a check of each LV's set, the status and the mismatches lvm2 reports, the messages after
#   it; VG is deactivated.
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
kernel_reads() {
	vg=$1
	shift
	dmesg -c >/dev/null
	echo "== vgchange -ay"
	lvm vgchange -q -ay "$vg"
	echo "== status at once"
	dmsetup status | grep ' raid \| integrity '
	waitsync
	echo "== kernel messages"
	dmesg -c | grep -iE 'md:|md/|raid|bitmap|integrity' | grep -v 'discard' || true
	echo "== sha256"
	for lv in "$@"; do
		if s=$(sha256sum < "/dev/mapper/$vg-$lv" 2>/dev/null); then echo "$vg-$lv ${s%% *}"; else echo "$vg-$lv unreadable"; fi
	done
	echo "== check"
	for lv in "$@"; do
		lvm lvchange -q --syncaction check "$vg/$lv"
		sleep 1
		waitsync
	done
	dmsetup status | grep ' raid \| integrity '
	dmsetup status | awk '$4 == "raid" { r += $10 } $4 == "integrity" { i += $5 } END { print "mismatches: raid " r+0 " integrity " i+0 }'
	lvm lvs -a -o lv_name,raid_sync_action,raid_mismatch_count,integritymismatches --noheadings "$vg"
	echo "== kernel messages after the check"
	dmesg -c | grep -iE 'md:|md/|raid|bitmap|mismatch|integrity' | grep -v 'discard' || true
	lvm vgchange -q -an "$vg"
}
